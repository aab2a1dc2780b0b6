"""The per-row attempt budget: validation failures counted over every run.

A row whose outputs failed validation ``max_attempts`` times, over all runs of
its batch, is not dispatched again: it needs a person. The count belongs to
the row *as it is*: it starts again from zero when the row's fingerprint (its
request: the row, the format reference and the rules) changes, and
``--retry-exhausted`` clears it. Each failure is counted once, by the id of
the result that failed, so collecting the same results again after a crash
never counts them twice.

Stored in ``attempts.json`` in the batch folder, replaced atomically.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from orchestrator.errors import CheckpointError
from orchestrator.recorder.atomic import atomic_write

BUDGET_FILE = "attempts.json"


@dataclass
class _Entry:
    fingerprint: str
    failed: list[str] = field(default_factory=list)  # ids of the results that failed


@dataclass
class AttemptBudget:
    """Validation failures per row key, for the row's current fingerprint."""

    path: Path
    entries: dict[str, _Entry] = field(default_factory=dict)
    changed: bool = False

    @classmethod
    def load(cls, path: Path) -> AttemptBudget:
        try:
            data: Any = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls(path)
        except (OSError, ValueError) as exc:
            raise _damaged(path, str(exc)) from None
        rows = data.get("rows") if isinstance(data, dict) else None
        if not isinstance(rows, dict):
            raise _damaged(path, "no 'rows' object")
        entries: dict[str, _Entry] = {}
        for key, value in rows.items():
            if not (isinstance(value, dict) and isinstance(value.get("fingerprint"), str)
                    and isinstance(value.get("failed"), list)):
                raise _damaged(path, f"row {key!r} is not {{fingerprint, failed}}")
            entries[key] = _Entry(value["fingerprint"], [str(x) for x in value["failed"]])
        return cls(path, entries)

    def failures(self, key: str, fingerprint: str) -> int:
        entry = self.entries.get(key)
        return len(entry.failed) if entry is not None and entry.fingerprint == fingerprint else 0

    def add_failure(self, key: str, fingerprint: str, result_id: str) -> int:
        """Count one failed result (once per ``result_id``); return the row's failures so far."""
        entry = self.entries.get(key)
        if entry is None or entry.fingerprint != fingerprint:
            entry = self.entries[key] = _Entry(fingerprint)
        if result_id not in entry.failed:
            entry.failed.append(result_id)
            self.changed = True
        return len(entry.failed)

    def clear(self, key: str) -> None:
        """Forget a row's failures (it validated, or the user passed ``--retry-exhausted``)."""
        if self.entries.pop(key, None) is not None:
            self.changed = True

    def save(self) -> None:
        """Replace the file if anything changed (call it off the event loop)."""
        if not self.changed:
            return
        rows = {k: {"fingerprint": e.fingerprint, "failed": e.failed} for k, e in sorted(self.entries.items())}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(self.path, (json.dumps({"rows": rows}, indent=1) + "\n").encode("utf-8"))
        self.changed = False


def _damaged(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(
        f"the attempt budget is damaged ({detail})",
        path=path,
        hint="delete the file to forget earlier validation failures (every row then gets a full budget)",
    )
