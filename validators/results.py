"""What a validation run reports: one :class:`CheckResult` per finding.

A check emits one failing result per problem it finds (each with its own
line), or a single passing result. Messages are self-contained sentences
because the dispatcher's repair loop sends them back to the model verbatim.

A failure's ``kind`` says whose it is: ``"output"`` (the document is wrong:
repair material) or ``"environment"`` (this machine could not run the check,
e.g. the linter is missing or hung: no repair can fix it, so the dispatcher
stops instead of paying for one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

#: whose failure it is: the document's, or this machine's
FailureKind = Literal["output", "environment"]
OUTPUT: FailureKind = "output"
ENVIRONMENT: FailureKind = "environment"


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check, or one problem it found."""

    name: str
    ok: bool
    line: int | None
    message: str
    skipped: bool = False
    kind: FailureKind = OUTPUT

    @property
    def environmental(self) -> bool:
        """A failure of this machine, not of the document."""
        return not self.ok and self.kind == ENVIRONMENT

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "ok": self.ok,
            "line": self.line,
            "message": self.message,
            "skipped": self.skipped,
            "kind": self.kind,
        }

    def render(self, path: Path | str | None = None) -> str:
        """``path:line: [name] message``, as a person or a model reads it."""
        where = "" if path is None else str(path)
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        head = f"{where}: " if where else ""
        return f"{head}[{self.name}] {self.message}"


def passed(name: str, message: str, line: int | None = None) -> CheckResult:
    return CheckResult(name, True, line, message)


def failed(name: str, message: str, line: int | None = None) -> CheckResult:
    return CheckResult(name, False, line, message)


def environment_failed(name: str, message: str) -> CheckResult:
    """The check could not run on this machine (not a verdict on the document)."""
    return CheckResult(name, False, None, message, kind=ENVIRONMENT)


def skipped(name: str, message: str) -> CheckResult:
    """A check that did not run; it never fails the file, and says why."""
    return CheckResult(name, True, None, f"skipped: {message}", skipped=True)


@dataclass
class FileReport:
    """Every check result for one output file."""

    path: Path
    checks: list[CheckResult] = field(default_factory=list)
    #: the parsed document the checks ran on (a ``Document``), so callers need not parse it again
    document: Any = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[CheckResult]:
        return [check for check in self.checks if not check.ok]

    @property
    def skipped(self) -> list[CheckResult]:
        return [check for check in self.checks if check.skipped]

    def failed_names(self) -> set[str]:
        return {check.name for check in self.failures}

    def failure_messages(self) -> list[str]:
        """Failures as the repair loop sends them: ``line N: message``."""
        return [f.render() for f in self.failures]

    @property
    def environment_failures(self) -> list[CheckResult]:
        """Checks this machine could not run (see :attr:`CheckResult.kind`)."""
        return [check for check in self.failures if check.environmental]

    def output_failure_messages(self) -> list[str]:
        """Failures of the document only: what a repair turn may ask the model to fix."""
        return [f.render() for f in self.failures if not f.environmental]

    def environment_messages(self) -> list[str]:
        """Environment failures, rendered: the dispatcher's ``Verdict.environment``."""
        return [f.render() for f in self.environment_failures]

    def as_dict(self) -> dict[str, object]:
        return {
            "path": str(self.path),
            "ok": self.ok,
            "checks": [check.as_dict() for check in self.checks],
        }
