"""The block parser finds the same blocks, tables and table rows as markdown-it's own GFM parse."""

from __future__ import annotations

from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from orchestrator.markdown_blocks import KEPT, block_parser

REPO = Path(__file__).resolve().parents[2]

EDGE_CASES = [
    "| a | b |\n|---|---|\n| 1 | 2 |\n",
    "| a | b |\n|---|---|\n| 1 | 2 |\nlazy line\n\n| c |\n|---|\n",
    "a | b\n--|--\n1 | 2\n3\n",  # no outer pipes; a body row without a pipe
    "| a | b |\n|---|\n| 1 | 2 |\n",  # delimiter row does not match: not a table
    "> | a | b |\n> |---|---|\n> | 1 | 2 |\n",
    "- item\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |\n",
    "```\n| a | b |\n|---|---|\n```\n| x | y |\n|:-:|--:|\n| \\| | `|` |\n",
    "| a |\n|---|\n| 1 |\n## Heading\n| 2 |\n",
    "    | indented | code |\n    |---|---|\n",
    "| a | b |\n| --- | --- |\n| 1 | 2 | 3 | 4 |\n|\n",
]


def _corpus() -> list[str]:
    files = [*REPO.glob("plans/*.md"), *REPO.glob("format_refs/*.md"), *REPO.glob("docs/*.md")]
    return EDGE_CASES + [path.read_text(encoding="utf-8") for path in sorted(files)]


Block = tuple[str, list[int] | None, int, str]


def _without_cells(md: MarkdownIt, text: str) -> list[Block]:
    """Every token but the table cells (``th``/``td`` and the inline token inside each)."""
    kept: list[Block] = []
    in_cell = False
    for tok in md.parse(text):
        if tok.type in ("th_open", "td_open", "th_close", "td_close"):
            in_cell = tok.nesting == 1
            continue
        if not in_cell:
            kept.append((tok.type, tok.map, tok.level, tok.content))
    return kept


@pytest.mark.parametrize("text", _corpus(), ids=lambda t: t[:30].replace("\n", "⏎"))
def test_same_blocks_as_the_full_gfm_parse(text: str) -> None:
    full = MarkdownIt("commonmark").enable("table").disable(["inline", "text_join"])
    assert _without_cells(block_parser(), text) == _without_cells(full, text)


def test_cell_tokens_are_not_made() -> None:
    tokens = block_parser().parse("| a | b |\n|---|---|\n| 1 | 2 |\n")
    assert {t.type for t in tokens} <= KEPT
    assert [t.map for t in tokens if t.type == "tr_open"] == [[0, 1], [2, 3]]
