"""Set rows' Status cells in plan text, changing nothing else (pure: no I/O).

A row is found by its phase and ``#`` and must still name the expected
Filename: a row the user removed, renumbered or repointed is reported, never
guessed at. Only ``pending`` and ``complete`` are ever written (the plan holds
durable states; "running" lives in memory only, so a crash cannot strand a
row), and only over a cell that holds one of those two: a status the user
wrote by hand (``skipped``, anything else, or nothing) is left alone. The
written word follows the case style of the plan's existing statuses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from orchestrator.plan.model import COMPLETE, DISPATCHABLE, Phase, Plan, Row
from orchestrator.plan.parser import parse_plan
from orchestrator.plan.table_syntax import split_cells
from orchestrator.recorder.columns import TableLines, cell_at, rewrite_column
from orchestrator.recorder.text import split_lines

#: (phase number, row ``#``)
Key = tuple[int, str]
#: (phase, row ``#``, reason the row was not recorded)
Skip = tuple[int, str, str]
#: May veto one change: (row as it is now, status to write) -> reason, or None to go ahead.
Guard = Callable[[Row, str], "str | None"]

WRITABLE = (DISPATCHABLE, COMPLETE)


def check_status(status: str) -> str:
    """The status in lower case; ValueError unless it is one the recorder may write."""
    lowered = status.strip().lower()
    if lowered not in WRITABLE:
        raise ValueError(f"the plan only records {' or '.join(WRITABLE)}, not {status!r}")
    return lowered


@dataclass
class StatusResult:
    text: str
    recorded: list[Key] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)


def set_statuses(text: str, changes: Mapping[Key, tuple[str, str]]) -> tuple[str, list[Skip]]:
    """Apply ``{(phase, row_id): (filename, status)}`` to plan ``text``.

    Returns the new text and the rows left alone, with the reason for each.
    """
    result = apply_statuses(text, parse_plan(text), changes)
    return result.text, result.skipped


def apply_statuses(
    text: str, plan: Plan, changes: Mapping[Key, tuple[str, str]], guard: Guard | None = None
) -> StatusResult:
    """:func:`set_statuses` on an already parsed ``plan`` of ``text``, with an optional veto."""
    result = StatusResult(text)
    style = case_style(row.status_text for row in plan.rows())
    lines = split_lines(text)
    index = RowIndex(plan)
    edits: dict[int, tuple[Phase, dict[int, str]]] = {}
    for key, (filename, status) in changes.items():
        wanted = check_status(status)
        found = index.locate(key, filename)
        if isinstance(found, str):
            result.skipped.append((key[0], key[1], found))
            continue
        phase, row = found
        reason = _refusal(lines, phase, row, wanted, guard)
        if reason is not None:
            result.skipped.append((key[0], key[1], reason))
            continue
        result.recorded.append(key)
        if row.status != wanted:
            edits.setdefault(phase.heading_line, (phase, {}))[1][row.line - 1] = _cell_style(row, style)(wanted)
    if edits:
        for phase, values in edits.values():
            _rewrite_status_column(lines, phase, values)
        result.text = "".join(lines)
    return result


class RowIndex:
    """Rows by (phase, ``#``), so a flush of 10,000 changes does not scan the plan 10,000 times."""

    def __init__(self, plan: Plan) -> None:
        self._rows: dict[Key, list[tuple[Phase, Row]]] = {}
        for phase in plan.phases:
            for row in phase.rows:
                self._rows.setdefault((phase.number, row.id), []).append((phase, row))

    def locate(self, key: Key, filename: str) -> tuple[Phase, Row] | str:
        """The one row at ``key`` naming ``filename``, or why there is none."""
        return _pick(self._rows.get(key, []), filename)


def locate(plan: Plan, key: Key, filename: str) -> tuple[Phase, Row] | str:
    """The one row at ``key`` naming ``filename``, or why there is none."""
    return RowIndex(plan).locate(key, filename)


def _pick(candidates: list[tuple[Phase, Row]], filename: str) -> tuple[Phase, Row] | str:
    if not candidates:
        return "row not found in the plan (removed or renumbered?)"
    same = [c for c in candidates if c[1].filename == filename]
    if not same:
        return f"row now names {candidates[0][1].filename!r}, not {filename!r}; left alone"
    if len(same) > 1:
        return f"{len(same)} rows share this phase, # and Filename; left alone"
    return same[0]


def _refusal(lines: list[str], phase: Phase, row: Row, wanted: str, guard: Guard | None) -> str | None:
    if row.status not in WRITABLE:
        shown = repr(row.status_text) if row.status_text else "empty"
        return f"Status is {shown}, not one the tool writes; left as written"
    assert phase.table is not None
    column = status_column(lines[phase.table.header_line - 1])
    if cell_at(lines[row.line - 1], column) is None:
        return "row has no Status cell"
    return guard(row, wanted) if guard is not None else None


def _rewrite_status_column(lines: list[str], phase: Phase, values: dict[int, str]) -> None:
    assert phase.table is not None
    header = phase.table.header_line - 1
    table = TableLines(header, header + 1, tuple(r.line - 1 for r in phase.rows))
    rewrite_column(lines, table, status_column(lines[header]), values)


def status_column(header_line: str) -> int:
    """Index of the Status column; the last one wins, as in the parser."""
    keys = [_normalise(cell.text) for cell in split_cells(header_line)]
    return len(keys) - 1 - keys[::-1].index("status")


@functools.lru_cache(maxsize=64)
def _status_column_cached(header_line: str) -> int:
    return status_column(header_line)


def _normalise(text: str) -> str:
    return " ".join(text.strip().rstrip(":").split()).lower()


def _cell_style(row: Row, plan_style: Callable[[str], str]) -> Callable[[str], str]:
    """The case of the word being replaced (``PENDING`` -> ``COMPLETE``), else the plan's."""
    word = row.status_text.strip()
    if word and word in (word.lower(), word.upper(), word.capitalize()):
        return case_style([word])
    return plan_style


def case_style(values: Iterable[str]) -> Callable[[str], str]:
    """The case the plan writes its statuses in: lower (the default), Capitalised or UPPER."""
    counts = {"lower": 0, "title": 0, "upper": 0}
    for value in values:
        word = value.strip()
        if not any(c.isalpha() for c in word):
            continue
        if word == word.lower():
            counts["lower"] += 1
        elif word == word.upper():
            counts["upper"] += 1
        elif word == word.capitalize():
            counts["title"] += 1
    best = max(counts, key=lambda k: (counts[k], k == "lower", k == "title"))
    return {"lower": str.lower, "title": str.capitalize, "upper": str.upper}[best]
