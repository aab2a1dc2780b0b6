"""A markdown tracking file: a table row or a list item per output (pure text in, text out).

If the file has a table, the last one gets a row per output, its columns
matched by header name (``Path``/``File``, ``Title``, ``Phase``, ``Row``/``#``,
``Model``, ``SHA256``/``Hash``, ``Validated``, ``Tokens``, ``Cost``; a column
it does not know stays empty), padded like the table's other rows. Otherwise
each output is a list item with the bullet the file already uses. The row or
item of an output already listed (found by path) is updated in place. Every
other line stays as it was.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.markdown_blocks import block_parser
from orchestrator.plan.table_syntax import escape, split_cells
from orchestrator.recorder.columns import TableLines, blank_row_like, rewrite_column
from orchestrator.recorder.text import (
    body,
    dominant_ending,
    is_blank,
    line_ending,
    same_path,
    split_lines,
)

Record = dict[str, object]

_COLUMNS = {
    "path": "path",
    "file": "path",
    "filename": "path",
    "output": "path",
    "output file": "path",
    "title": "title",
    "phase": "phase",
    "row": "row",
    "#": "row",
    "id": "row",
    "model": "model",
    "sha256": "sha256",
    "sha-256": "sha256",
    "hash": "sha256",
    "checksum": "sha256",
    "validated": "validated_at",
    "validated at": "validated_at",
    "validated_at": "validated_at",
    "tokens": "tokens",
    "cost": "cost_usd",
    "cost (usd)": "cost_usd",
    "cost usd": "cost_usd",
    "cost_usd": "cost_usd",
}
_BULLET_RE = re.compile(r"^(?:([-*+])|(\d+)([.)]))[ \t]+(.*)$")


def register(text: str | None, records: Sequence[Record]) -> str:
    lines = split_lines(text or "")
    for record in records:
        table = _last_table(lines)
        if table is not None:
            _upsert_row(lines, table, record)
        else:
            _upsert_item(lines, record)
    return "".join(lines)


# --- tables -----------------------------------------------------------------


def _last_table(lines: list[str]) -> TableLines | None:
    """The last GFM table, by markdown-it (line indexes match: same line splitting)."""
    source = "".join(body(line) + "\n" for line in lines)
    if source.startswith("\ufeff"):
        source = source[1:]
    tokens = block_parser().parse(source)
    found: TableLines | None = None
    rows: list[int] = []
    for token in tokens:
        if token.type == "table_open":
            rows = []
        elif token.type == "tr_open" and token.map:
            rows.append(token.map[0])
        elif token.type == "table_close" and rows:
            found = TableLines(rows[0], rows[0] + 1, tuple(rows[1:]))
    return found


def _column_fields(header: str) -> list[str | None]:
    names = [" ".join(c.text.strip("` ").split()).lower() for c in split_cells(header)]
    fields = [_COLUMNS.get(name) for name in names]
    if "path" not in fields and fields:
        fields[0] = "path"
    return fields


def _upsert_row(lines: list[str], table: TableLines, record: Record) -> None:
    fields = _column_fields(lines[table.header])
    path_column = fields.index("path")
    target = next((i for i in table.body if _row_names(lines[i], path_column, record)), None)
    new = target is None
    if target is None:
        target = _append_row(lines, table)
        table = TableLines(table.header, table.delimiter, (*table.body, target))
    for column, name in enumerate(fields):
        if name is not None or new:
            value = _cell_value(record, name)
            rewrite_column(lines, table, column, {target: escape(value)})


def _row_names(line: str, column: int, record: Record) -> bool:
    cells = split_cells(line)
    return column < len(cells) and same_path(cells[column].text, str(record["path"]))


def _append_row(lines: list[str], table: TableLines) -> int:
    last = table.body[-1] if table.body else table.delimiter
    if not line_ending(lines[last]):
        lines[last] += dominant_ending(lines)
    row = blank_row_like(body(lines[table.header])) + line_ending(lines[last])
    lines.insert(last + 1, row)
    return last + 1


def _cell_value(record: Record, name: str | None) -> str:
    value = record.get(name) if name else None
    if value is None:
        return ""
    if name == "cost_usd":
        return f"${value}"
    return str(value)


# --- lists ------------------------------------------------------------------


@dataclass(frozen=True)
class _Bullet:
    marker: str  # "-", "*", "+" or the delimiter after a number
    number: int | None


def _upsert_item(lines: list[str], record: Record) -> None:
    last: int | None = None
    bullet = _Bullet("-", None)
    for index, line in enumerate(lines):
        match = _BULLET_RE.match(body(line))
        if not match:
            continue
        last, bullet = index, _bullet(match)
        first_word = match.group(4).split(maxsplit=1)[0] if match.group(4).strip() else ""
        if same_path(first_word, str(record["path"])):
            prefix = body(line)[: match.start(4)]
            lines[index] = prefix + _item_text(record) + line_ending(line)
            return
    eol = dominant_ending(lines)
    item = _next_prefix(bullet) + _item_text(record) + eol
    if last is None:
        _append_block(lines, item, eol)
        return
    end = _list_end(lines, last)
    if not line_ending(lines[end]):
        lines[end] += eol
    lines.insert(end + 1, item)


def _bullet(match: re.Match[str]) -> _Bullet:
    if match.group(1):
        return _Bullet(match.group(1), None)
    return _Bullet(match.group(3), int(match.group(2)))


def _next_prefix(bullet: _Bullet) -> str:
    if bullet.number is None:
        return f"{bullet.marker} "
    return f"{bullet.number + 1}{bullet.marker} "


def _list_end(lines: list[str], item: int) -> int:
    """Last line of the list item at ``item`` (its indented continuation lines included)."""
    end = item
    while end + 1 < len(lines) and not is_blank(lines[end + 1]) and lines[end + 1][:1] in " \t":
        end += 1
    return end


def _append_block(lines: list[str], item: str, eol: str) -> None:
    if lines and not line_ending(lines[-1]):
        lines[-1] += eol
    if lines and not is_blank(lines[-1]):
        lines.append(eol)
    lines.append(item)


def _item_text(record: Record) -> str:
    details = [f"phase {record['phase']}", f"row {record['row']}", f"model {record['model']}"]
    details.append(f"sha256 {record['sha256']}")
    details.append(f"validated {record['validated_at']}")
    if record.get("tokens") is not None:
        details.append(f"{record['tokens']} tokens")
    if record.get("cost_usd") is not None:
        details.append(f"${record['cost_usd']}")
    if record.get("provider") == "sim":  # read back by orchestrator.recorder.simulated
        details.append("SIMULATED (--provider sim)")
    return f"`{record['path']}` — {record['title']} ({', '.join(details)})"
