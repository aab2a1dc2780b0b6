"""Append rows to a phase table (or add the phase), changing nothing else in the plan.

:func:`add_rows_text` is pure: new row lines go right after the table's last
row, written in the table's own style (outer pipes or not, blockquote
markers, each compact cell's padding copied from the last row, aligned
columns re-padded as :mod:`~orchestrator.recorder.columns` keeps them
aligned), with the plan's line ending. Extra columns the table lacks are
appended at its right edge, empty in its existing rows. A phase that does
not exist is written as a new ``Phase N`` section before the next phase's
heading, or after the last phase's section.

:func:`append_rows` does it on disk like every recorder write: under the
plan's lock, read fresh, recomputed if someone saved meanwhile, replaced
atomically (:mod:`~orchestrator.recorder.writes`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import RecordError
from orchestrator.markdown_blocks import block_parser
from orchestrator.plan.model import REQUIRED_COLUMNS, Phase, Plan, source_lines
from orchestrator.plan.parser import parse_plan
from orchestrator.plan.table_syntax import content_bounds, escape, split_cells
from orchestrator.recorder.atomic import real_path
from orchestrator.recorder.columns import TableLines, aligned_width, rewrite_column
from orchestrator.recorder.lock import PlanLock
from orchestrator.recorder.text import body, dominant_ending, is_blank, line_ending, split_lines
from orchestrator.recorder.writes import Written, rewrite

_HEADERS = {"#": "#", "title": "Title", "filename": "Filename", "model": "Model", "status": "Status"}
_ALIASES = {"id": "#", "no": "#", "no.": "#"}


def column_key(header: str) -> str:
    """How a column is matched: case and spacing ignored, ``id``/``no.`` meaning ``#``."""
    key = " ".join(header.strip().rstrip(":").split()).lower()
    return _ALIASES.get(key, key)


@dataclass(frozen=True)
class RowAddition:
    """Rows for one phase: each row's cell text (unescaped) by column name."""

    phase: int
    rows: tuple[Mapping[str, str], ...]
    extra_columns: tuple[str, ...] = ()  # beyond the five required ones, in order

    def value(self, row: Mapping[str, str], column: str) -> str:
        key = column_key(column)
        return next((v for k, v in row.items() if column_key(k) == key), "")


@dataclass(frozen=True)
class Insertion:
    text: str
    lines: tuple[str, ...]  # the lines added (rows, or the whole new phase), without endings
    new_phase: bool = False
    added_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class Appended:
    addition: RowAddition
    insertion: Insertion
    written: Written = field(default_factory=Written)


def append_rows(
    plan_path: Path | str, compute: Callable[[Plan], RowAddition], *, wait: bool = False, known: Plan | None = None
) -> Appended:
    """Append ``compute(plan)``'s rows to the plan on disk, under its lock.

    ``compute`` runs on the plan as read fresh (again if it changed under
    us) and may raise to refuse; nothing is written then. ``known``, a plan
    the caller already parsed, is reused when the file still holds its text.
    """
    path = real_path(plan_path)
    done: list[tuple[RowAddition, Insertion]] = []

    def change(text: str | None) -> str:
        plan = known if known is not None and known.text == text else parse_plan(text or "", path)
        addition = compute(plan)
        insertion = add_rows_text(text or "", plan, addition)
        done.append((addition, insertion))
        return insertion.text

    with PlanLock(path, wait=wait):
        written = rewrite(path, change)
    addition, insertion = done[-1]
    return Appended(addition, insertion, written)


def add_rows_text(text: str, plan: Plan, addition: RowAddition) -> Insertion:
    """``text`` (parsed as ``plan``) with the rows of ``addition`` appended."""
    lines = split_lines(text)
    phase = plan.phase(addition.phase)
    if phase is None:
        return _new_phase(lines, plan, addition)
    if phase.table is None:
        raise RecordError(f"Phase {addition.phase} has no table to add rows to", path=plan.path,
                          line=phase.heading_line, hint="add a table | # | Title | Filename | Model | Status |")
    return _append(lines, phase, addition)


# --- an existing table -----------------------------------------------------------------


def _append(lines: list[str], phase: Phase, addition: RowAddition) -> Insertion:
    assert phase.table is not None
    header = phase.table.header_line - 1
    table = TableLines(header, header + 1, tuple(r.line - 1 for r in phase.rows))
    have = {column_key(c.text) for c in split_cells(body(lines[header]))}
    missing = tuple(c for c in addition.extra_columns if column_key(c) not in have)
    if missing:
        _add_columns(lines, table, missing)
    columns = [c.text for c in split_cells(body(lines[header]))]
    aligned = _aligned_columns(lines, table, len(columns))
    last = table.body[-1] if table.body else table.delimiter
    template = body(lines[last]) if table.body and len(split_cells(lines[last])) >= len(columns) else body(
        lines[header])
    ending = line_ending(lines[last]) or dominant_ending(lines)
    lines[last] += "" if line_ending(lines[last]) else ending
    values = [[_cell(addition.value(row, c)) for c in columns] for row in addition.rows]
    new = [_row_like(template, row, aligned) + ending for row in values]
    lines[last + 1 : last + 1] = new
    indexes = tuple(range(last + 1, last + 1 + len(new)))
    grown = TableLines(table.header, table.delimiter, (*table.body, *indexes))
    for column in aligned:
        rewrite_column(lines, grown, column, {i: values[n][column] for n, i in enumerate(indexes)})
    added = tuple(body(lines[i]) for i in indexes)
    return Insertion("".join(lines), added, added_columns=missing)


def _aligned_columns(lines: list[str], table: TableLines, count: int) -> dict[int, int]:
    """Padded width of each column, when the table is a padded one; else nothing.

    One column of equal widths is chance in a compact table (single-digit
    ids under ``|---|``), so the table counts as padded only when every
    column is, the last one excepted (some formatters leave it ragged).
    """
    if not table.body:
        return {}
    cells = {i: split_cells(lines[i]) for i in table.content}  # each line split once, not once per column
    widths: dict[int, int] = {}
    for column in range(count):
        spans = {i: found[column] if column < len(found) else None for i, found in cells.items()}
        width = aligned_width(lines, table, column, spans)
        if width is None and column < count - 1:
            return {}  # a compact column: the table is compact (most tables stop here, at the first column)
        if width is not None:
            widths[column] = width
    return widths


def _cell(text: str) -> str:
    """Cell text escaped for GFM; a trailing backslash must not escape the closing pipe."""
    escaped = escape(text)
    return escaped + " " if escaped.endswith("\\") else escaped


def _margins(raw: str) -> tuple[str, str]:
    stripped = raw.strip()
    if not stripped:
        return " ", " "
    lead = raw[: len(raw) - len(raw.lstrip())]
    trail = raw[len(raw.rstrip()) :]
    return lead, trail


def _row_like(template: str, values: list[str], aligned: Mapping[int, int]) -> str:
    """A row with ``values`` in the template row's style (aligned cells left blank to be padded)."""
    cells = split_cells(template)
    first, last = content_bounds(template)
    open_start = cells[0].start == first  # no leading pipe
    open_end = cells[-1].end == last  # no trailing pipe
    pieces: list[str] = []
    for i, value in enumerate(values):
        if i in aligned:
            pieces.append(" " * aligned[i])
            continue
        raw = template[cells[i].start : cells[i].end] if i < len(cells) else " x "
        lead, trail = _margins(raw)
        if not raw.strip():
            lead = "" if i == 0 and open_start else lead
            trail = "" if i == len(values) - 1 and open_end else trail
        pieces.append(lead + value + trail)
    return template[: cells[0].start] + "|".join(pieces) + template[cells[-1].end :]


def _add_columns(lines: list[str], table: TableLines, names: tuple[str, ...]) -> None:
    """Append ``names`` as columns at the table's right edge (empty in existing rows).

    In a padded table the new column is padded to its header's width, so it
    stays aligned as rows are added; otherwise each new cell copies the
    padding of the line's last cell.
    """
    padded = bool(_aligned_columns(lines, table, len(split_cells(lines[table.header]))))
    for index in (table.header, table.delimiter, *table.body):
        text, ending = body(lines[index]), line_ending(lines[index])
        cells = split_cells(text)
        end = content_bounds(text)[1]
        lead, trail = _margins(text[cells[-1].start : cells[-1].end])
        pieces = []
        for name in names:
            size = len(_cell(name)) + 2
            if index == table.header:
                pieces.append(f"{lead}{_cell(name)}{trail}" if not padded else f" {_cell(name)} ")
            elif index == table.delimiter:
                pieces.append("-" * size if padded else f"{lead}---{trail}")
            else:
                pieces.append(" " * size if padded else lead + trail)
        closed = cells[-1].end < end
        if not closed and index in table.body:
            continue  # a pipe-less row's missing last cells are empty cells, as GFM reads them
        joined = "|".join(pieces)
        sep = " |" if " |" in text else "|"
        grown = f"{text[:end]}{joined}|" if closed else f"{text[:end]}{sep}{joined}"
        lines[index] = grown + text[end:] + ending


# --- a new phase -------------------------------------------------------------------------


def _new_phase(lines: list[str], plan: Plan, addition: RowAddition) -> Insertion:
    columns = [*(_HEADERS[c] for c in REQUIRED_COLUMNS), *addition.extra_columns]
    level = _phase_level(plan)
    block = [f"{'#' * level} Phase {addition.phase}", "| " + " | ".join(_cell(c) for c in columns) + " |",
             "|" + "|".join("-" * (len(_cell(c)) + 2) for c in columns) + "|"]
    block += ["| " + " | ".join(_cell(addition.value(row, c)) or "" for c in columns) + " |"
              for row in addition.rows]
    at = _insert_at(plan, addition.phase, level)
    ending = dominant_ending(lines)
    if at == len(lines) and lines and not line_ending(lines[-1]):
        lines[-1] += ending
    before = [""] if at > 0 and not is_blank(lines[at - 1]) else []
    after = [""] if at < len(lines) and not is_blank(lines[at]) else []
    lines[at:at] = [line + ending for line in (*before, *block, *after)]
    return Insertion("".join(lines), tuple(block), new_phase=True)


def _phase_level(plan: Plan) -> int:
    for phase in plan.phases:
        head = plan.source_line(phase.heading_line).lstrip(" >")
        hashes = len(head) - len(head.lstrip("#"))
        if 1 <= hashes <= 6:
            return hashes
    return 2


def _insert_at(plan: Plan, number: int, level: int) -> int:
    """0-based line index the new phase goes before."""
    later = [p for p in plan.phases if p.number > number]
    if later:
        return min(p.heading_line for p in later) - 1
    headings = _headings(plan)
    if not plan.phases:
        return len(split_lines(plan.text))
    last = max(plan.phases, key=lambda p: p.heading_line)
    own = next((lvl for line, lvl in headings if line == last.heading_line), level)
    following = [line for line, lvl in headings if line > last.heading_line and lvl <= own]
    return following[0] - 1 if following else len(split_lines(plan.text))


def _headings(plan: Plan) -> list[tuple[int, int]]:
    """(1-based line, level) of every heading, as the parser sees them."""
    tokens = block_parser().parse("\n".join(source_lines(plan.text)))
    return [(t.map[0] + 1, int(t.tag[1])) for t in tokens if t.type == "heading_open" and t.map]
