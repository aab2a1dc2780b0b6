"""``tracking.registered``: the output is listed in the plan's tracking file.

Registration is the RECORD step's job, so this check runs only on a written
file (``final=True``); before the write it reports itself as skipped. The
file is matched leniently: its name (or its path relative to the tracking
file) must appear in the tracking file as a whole path token, whatever the
tracking file's format.
"""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator.validators.document import Document
from orchestrator.validators.expectations import Registered
from orchestrator.validators.registry import BaseValidator, CheckContext
from orchestrator.validators.results import CheckResult, failed, passed, skipped

from orchestrator.errors import InputFileError
from orchestrator.safeio import TRACKING, read_bytes


def is_registered(tracking_text: str, output: Path) -> bool:
    """Whether ``output``'s file name appears in the tracking text as a whole token."""
    pattern = r"(?<![\w.-])" + re.escape(output.name) + r"(?![\w.-])"
    return re.search(pattern, tracking_text) is not None


class TrackingRegistered(BaseValidator):
    name = "tracking.registered"
    consumes = (Registered,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        unique = {rule.tracking_file: rule for rule in ctx.expectations.of(Registered)}
        if not ctx.final:
            return [skipped(self.name, "registration is checked once the file is written and recorded")]
        return [self._one(rule, ctx.path) for rule in unique.values()]

    def _one(self, rule: Registered, output: Path) -> CheckResult:
        tracking = rule.tracking_file
        try:
            text = read_bytes(tracking, TRACKING).decode("utf-8")
        except InputFileError as exc:
            return failed(self.name, f"cannot read the tracking file {tracking}: {exc.message} ({exc.hint})")
        except IsADirectoryError:
            return failed(self.name, f"cannot read the tracking file {tracking}: it is a folder")
        except FileNotFoundError:
            return failed(
                self.name,
                f"'{output.name}' is not registered: the tracking file {tracking} "
                "does not exist yet (it is written when a row is recorded complete)",
            )
        except (OSError, UnicodeDecodeError) as exc:
            return failed(self.name, f"cannot read the tracking file {tracking}: {exc}")
        if is_registered(text, output):
            return passed(self.name, f"'{output.name}' is registered in {tracking.name}")
        return failed(self.name, f"'{output.name}' is not registered in the tracking file {tracking}")
