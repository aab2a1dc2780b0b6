"""markdown-it for block structure only: what the plan parser, the validators and the recorder read.

They need where each block is (headings, lists, paragraphs, fences, tables
and their rows, as source line ranges) and find cells themselves, in the
source line (:mod:`orchestrator.plan.table_syntax`). So the inline pass is
skipped, and the GFM table rule runs as markdown-it wrote it (which lines are
a table is decided exactly as GitHub does) but keeps only the table, section
and row tokens: the cell tokens it would make (three per cell, 85% of a
plan's tokens) are dropped as they are made. A 10,000-row plan parsed in
0.87 s before, most of it building cell tokens nobody read.
"""

from __future__ import annotations

from typing import Any, Literal

from markdown_it import MarkdownIt
from markdown_it.rules_block.state_block import StateBlock
from markdown_it.rules_block.table import table as gfm_table
from markdown_it.token import Token

#: the table tokens kept: a table's extent and each row's line
KEPT = frozenset(
    {"table_open", "table_close", "thead_open", "thead_close", "tbody_open", "tbody_close", "tr_open", "tr_close"}
)


class _Dropped:
    """Stands in for a cell token: the table rule sets its fields, then it is forgotten."""

    map: Any
    attrs: Any
    content: Any
    children: Any


def _rows_only(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    if silent:  # only asked whether a table starts here: no token is made
        return gfm_table(state, start_line, end_line, silent)
    push = state.push
    dropped = _Dropped()

    def keep_rows(ttype: str, tag: str, nesting: Literal[-1, 0, 1]) -> Token:
        if ttype in KEPT:
            return push(ttype, tag, nesting)
        state.level += nesting  # as push would: the kept tokens' levels stay what they were
        return dropped  # type: ignore[return-value]

    state.push = keep_rows  # type: ignore[method-assign]
    try:
        return gfm_table(state, start_line, end_line, silent)
    finally:
        del state.push


def block_parser() -> MarkdownIt:
    """CommonMark with GFM tables, block rules only, table cells not tokenized."""
    md = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])
    md.block.ruler.at("table", _rows_only, {"alt": ["paragraph", "reference"]})
    return md
