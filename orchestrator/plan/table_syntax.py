"""GFM table row syntax: where each cell sits in its source line.

markdown-it gives table rows a source line but cells no columns, so cells are
found here by splitting the row's line on unescaped ``|``. The spans are what
the recorder needs to rewrite exactly one cell and nothing else.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple


class CellSpan(NamedTuple):
    """One cell of a table row line.

    ``start``/``end`` delimit the cell's raw text between its pipes (padding
    included); ``text`` is that text stripped, with ``\\|`` unescaped. A tuple:
    a 10,000-row plan makes 70,000 of them per parse.
    """

    start: int
    end: int
    text: str


def _pipe_positions(line: str) -> list[int]:
    """Offsets of the unescaped pipes in ``line``.

    As in GFM (cmark-gfm, and markdown-it's ``escapedSplit``), a pipe right
    after a backslash is escaped whatever precedes that backslash: ``\\|`` and
    ``\\\\|`` both hold a literal pipe. Table row splitting happens before
    inline parsing, so ordinary backslash escapes do not apply here.
    """
    found: list[int] = []
    i = line.find("|")
    while i != -1:  # str.find, not a Python loop over every character: a 10,000-row plan is 70,000 cells
        if i == 0 or line[i - 1] != "\\":
            found.append(i)
        i = line.find("|", i + 1)
    return found


def content_bounds(line: str) -> tuple[int, int]:
    """The line without its line ending, a BOM, blockquote markers and surrounding whitespace.

    A table row never starts with ``>`` unless the table sits in a blockquote
    (a ``>`` line would end the table), so leading ``>`` markers are the
    container's, not a cell.
    """
    end = len(line.rstrip("\r\n"))
    start = 1 if line.startswith("\ufeff") else 0
    while start < end and line[start] in " \t>":
        start += 1
    while end > start and line[end - 1] in " \t":
        end -= 1
    return start, end


def split_cells(line: str) -> list[CellSpan]:
    """Split one table row line into cell spans.

    Outer pipes are optional, as in GFM: a leading pipe and a trailing pipe
    (after trailing whitespace) are separators, not empty cells.
    """
    start, end = content_bounds(line)
    pipes = [p for p in _pipe_positions(line) if start <= p < end]
    bounds = [start - 1, *pipes, end]
    if pipes and pipes[0] == start:
        bounds = bounds[1:]
    if pipes and pipes[-1] == end - 1 and (len(pipes) > 1 or pipes[0] != start):
        bounds = bounds[:-1]
    cells: list[CellSpan] = []
    for left, right in itertools.pairwise(bounds):
        raw = line[left + 1 : right]
        cells.append(CellSpan(left + 1, right, unescape(raw.strip())))
    return cells


def unescape(text: str) -> str:
    """Undo GFM's ``\\|`` escape inside a cell (other escapes stay as written)."""
    return text.replace("\\|", "|")


def escape(text: str) -> str:
    """Escape pipes so ``text`` can stand inside a cell."""
    return text.replace("|", "\\|")


def is_delimiter_row(line: str) -> bool:
    """True for a header/body separator row such as ``|:---|--:|``."""
    cells = split_cells(line)
    if not cells:
        return False
    for cell in cells:
        core = cell.text.strip()
        if not core or core.strip(":").strip("-") != "" or "-" not in core:
            return False
    return True
