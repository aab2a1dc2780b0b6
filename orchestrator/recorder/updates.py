"""One flush's worth of plan edits, computed from text (pure: no I/O).

Statuses and Run Notes are applied together so the plan is parsed once per
write. When the plan on disk is not what the recorder last read or wrote
(``known``), the user has edited it: the changes are applied to the new text
all the same, rows being found again by phase, ``#`` and Filename, except
that a Status cell the user changed meanwhile is not overwritten.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from orchestrator.plan.model import COMPLETE, Plan, Row
from orchestrator.plan.parser import parse_plan
from orchestrator.recorder.cells import Guard, Key, Skip, apply_statuses
from orchestrator.recorder.notes import set_run_notes


@dataclass(frozen=True)
class PlanUpdate:
    text: str
    recorded: list[Key]
    skipped: list[Skip]
    plan: Plan  # the plan as it was before this update


def apply_plan_updates(
    text: str,
    path: Path,
    statuses: Mapping[Key, tuple[str, str]],
    notes: Mapping[Key, tuple[str, str | None]],
    known: str | None = None,
) -> PlanUpdate:
    """``text`` with ``statuses`` and ``notes`` applied; ``known`` is the text last seen."""
    plan = parse_plan(text, path)
    guard = edit_guard(parse_plan(known, path)) if known is not None and known != text else None
    result = apply_statuses(text, plan, statuses, guard)
    complete = {(row.phase, row.id) for row in plan.rows() if row.status == COMPLETE}
    for key in result.recorded:
        if statuses[key][1] == COMPLETE:
            complete.add(key)
        else:
            complete.discard(key)
    new_text = set_run_notes(result.text, notes, complete) if notes or complete else result.text
    return PlanUpdate(new_text, result.recorded, result.skipped, plan)


def edit_guard(known: Plan) -> Guard:
    """A veto for Status cells whose value changed since ``known`` (someone else wrote them)."""
    before = {(row.phase, row.id, row.filename): row.status for row in known.rows()}

    def guard(row: Row, wanted: str) -> str | None:
        was = before.get((row.phase, row.id, row.filename))
        if was is not None and was != row.status and row.status != wanted:
            now = row.status_text
            return f"Status was changed in the plan meanwhile (to {now!r}); left as written"
        return None

    return guard
