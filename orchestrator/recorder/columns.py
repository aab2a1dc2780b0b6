"""Rewrite one column of a GFM table in place, keeping an aligned table aligned.

A column is *aligned* when its cell in the header and in every body row has
the same raw width (text plus padding). Changing one cell of such a column
re-pads the column in every row of the table, whitespace only, plus the
delimiter row's dashes when that cell has the same width too; nothing else on
any line moves. In a *compact* column only the changed cell's text changes,
between the whitespace it already had.

Widths are counted in code points, as the rest of the line is: a table
formatted by display width (wide CJK characters) is simply not seen as
aligned, and is then edited as compact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.plan.table_syntax import CellSpan, split_cells


@dataclass(frozen=True)
class TableLines:
    """Line indexes (0-based, into a list of lines) of one table."""

    header: int
    delimiter: int
    body: tuple[int, ...]

    @property
    def content(self) -> tuple[int, ...]:
        return (self.header, *self.body)


def cell_at(line: str, column: int) -> CellSpan | None:
    cells = split_cells(line)
    return cells[column] if column < len(cells) else None


def rewrite_column(lines: list[str], table: TableLines, column: int, values: Mapping[int, str]) -> None:
    """Set ``column`` of the lines in ``values`` (line index -> escaped cell text), in place.

    Every line in ``values`` must have that cell (see :func:`cell_at`).
    """
    spans = {i: cell_at(lines[i], column) for i in table.content}
    width = aligned_width(lines, table, column, spans)
    if width is not None:
        _rewrite_aligned(lines, table, column, values, width)
        return
    for index, value in values.items():
        span = spans.get(index) or cell_at(lines[index], column)
        if span is None:
            raise ValueError(f"line {index + 1} has no cell {column + 1}")
        lines[index] = _splice(lines[index], span, _compact(lines[index], span, value))


def aligned_width(
    lines: list[str], table: TableLines, column: int, spans: Mapping[int, CellSpan | None] | None = None
) -> int | None:
    """The column's common width if the table pads it to one, else None.

    Equal widths alone can be chance in a compact table (``| Path |`` over
    ``| a.md |``), so there must also be proof of padding: texts of different
    lengths in cells of one width, padding beyond one space, or a delimiter
    cell of that same width, as formatters write.
    """
    raws: list[str] = []
    for index in table.content:
        span = spans[index] if spans is not None else cell_at(lines[index], column)
        if span is None:
            return None
        raws.append(lines[index][span.start : span.end])
    widths = {len(raw) for raw in raws}
    if len(widths) != 1:
        return None
    width = widths.pop()
    delimiter = cell_at(lines[table.delimiter], column)
    if delimiter is not None and delimiter.end - delimiter.start == width:
        return width
    filled = [raw for raw in raws if raw.strip()]
    lengths = {len(raw.strip()) for raw in filled}
    padded = len(lengths) > 1 or any(sum(_margins(raw)) > 2 for raw in filled)
    return width if padded else None


def _splice(line: str, span: CellSpan, raw: str) -> str:
    return line[: span.start] + raw + line[span.end :]


def _compact(line: str, span: CellSpan, value: str) -> str:
    """The cell's new raw text: ``value`` between the whitespace the cell already had."""
    raw = line[span.start : span.end]
    if not raw.strip():
        closed = span.end < len(line) and line[span.end] == "|"
        return f" {value} " if closed else f" {value}"
    lead, trail = _margins(raw)
    return raw[:lead] + value + raw[len(raw) - trail :]


def _margins(raw: str) -> tuple[int, int]:
    """Widths of the leading and trailing whitespace of a cell."""
    stripped = raw.strip()
    if not stripped:
        return len(raw), 0
    lead = len(raw) - len(raw.lstrip())
    return lead, len(raw) - len(raw.rstrip())


def alignment(delimiter_cell: str) -> str:
    """``left``, ``right`` or ``center`` from a delimiter cell such as ``:---:``."""
    core = delimiter_cell.strip()
    if core.startswith(":") and core.endswith(":") and len(core) > 1:
        return "center"
    if core.endswith(":"):
        return "right"
    return "left"


def _rewrite_aligned(lines: list[str], table: TableLines, column: int, values: Mapping[int, str], width: int) -> None:
    raws = {}
    open_end = False
    for i in table.content:
        span = cell_at(lines[i], column)
        assert span is not None
        raws[i] = lines[i][span.start : span.end]
        open_end = open_end or lines[i][span.end : span.end + 1] != "|"
    delimiter = cell_at(lines[table.delimiter], column)
    align = alignment(delimiter.text) if delimiter else "left"
    if open_end:  # last cell of a table without outer pipes: padding after it would trail the line
        align = "right"
    lead, trail = _fixed_margins([_margins(raw) for raw in raws.values() if raw.strip()], align)
    needed = max((lead + len(v) + trail for v in values.values()), default=0)
    new_width = max(width, needed)
    delta = new_width - width
    for i, raw in raws.items():
        if i in values:
            new_raw = _pad(values[i], new_width, align, lead, trail)
        elif delta:
            new_raw = _widen(raw, delta, align)
        else:
            continue
        span = cell_at(lines[i], column)
        assert span is not None
        lines[i] = _splice(lines[i], span, new_raw)
    if delta and delimiter is not None and delimiter.end - delimiter.start == width:
        line = lines[table.delimiter]
        lines[table.delimiter] = _splice(line, delimiter, _more_dashes(line[delimiter.start : delimiter.end], delta))


def _fixed_margins(margins: list[tuple[int, int]], align: str) -> tuple[int, int]:
    """Whitespace a new value keeps from the pipes on each side.

    The side the column is aligned to has a fixed margin (the smallest seen);
    the padded side's smallest gap can be wide when the column is wider than
    its longest value, so it is capped at the fixed margin (at least one).
    """
    leads = min((m[0] for m in margins), default=1)
    trails = min((m[1] for m in margins), default=1)
    if align == "right":
        return min(leads, max(trails, 1)), trails
    if align == "center":
        both = min(leads, trails)
        return both, both
    return leads, min(trails, max(leads, 1))


def _pad(text: str, width: int, align: str, lead: int, trail: int) -> str:
    free = width - len(text)
    if align == "right":
        left = free - trail
    elif align == "center":
        left = lead + (free - lead - trail) // 2
    else:
        left = lead
    return " " * left + text + " " * (free - left)


def _widen(raw: str, delta: int, align: str) -> str:
    """``raw`` with ``delta`` more spaces on the side its alignment pads."""
    lead, trail = _margins(raw)
    end = len(raw) - trail
    if align == "right":
        return raw[:lead] + " " * delta + raw[lead:]
    if align == "center":
        before = delta // 2
        raw = raw[:lead] + " " * before + raw[lead:]
        end += before
        delta -= before
    return raw[:end] + " " * delta + raw[end:]


def _more_dashes(raw: str, delta: int) -> str:
    at = raw.rfind("-") + 1
    return raw[:at] + "-" * delta + raw[at:]


def blank_row_like(template: str) -> str:
    """The template row with each cell blanked to spaces of the same width."""
    cells = split_cells(template)
    if not cells:
        raise ValueError("template line has no cells")
    middle = "|".join(" " * (c.end - c.start) for c in cells)
    return template[: cells[0].start] + middle + template[cells[-1].end :]
