"""An output file as the checks see it: front matter, headings and tables, with lines.

The text is normalised once (BOM dropped, CRLF and CR turned into LF, which
keeps line numbers), the front matter is read by :mod:`.fmparse`, and the
body after it is parsed with markdown-it (CommonMark plus GFM tables), so a
``##`` inside a code fence is not a heading and a table is found where GFM
finds it. Line numbers are 1-based file lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, cached_property, lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token
from orchestrator.validators.fmparse import FrontMatter, read_front_matter

from orchestrator.markdown_blocks import block_parser

_DECORATION_RE = re.compile(r"[*_`]+")


@dataclass(frozen=True)
class Heading:
    level: int
    text: str  # as written (inline source)
    line: int

    @cached_property
    def key(self) -> str:  # asked for by every section check: computed once
        return heading_key(self.text)


@dataclass(frozen=True)
class TableSpan:
    """A GFM table: its header row line, its last row line, and its neighbours."""

    first_line: int
    last_line: int
    line_before: str | None  # the source line just above, None at the start of the body
    line_after: str | None  # the source line just below, None at the end of the file


@dataclass(frozen=True)
class Document:
    text: str  # normalised
    lines: tuple[str, ...]
    front_matter: FrontMatter
    headings: tuple[Heading, ...]
    tables: tuple[TableSpan, ...]
    body_start: int  # 1-based line where the markdown body begins
    source: str = ""  # the content exactly as given (for tools that read the file)

    def sections(self, level: int = 2) -> tuple[Heading, ...]:
        return tuple(h for h in self.headings if h.level == level)


@lru_cache(maxsize=4096)  # the checks ask for the same rule names on every document
def heading_key(text: str) -> str:
    """How headings are compared: case, spacing, emphasis and a trailing colon ignored."""
    text = _DECORATION_RE.sub("", text).strip().rstrip(":").strip()
    return re.sub(r"\s+", " ", text).casefold()


def normalise(content: str) -> str:
    text = content[1:] if content.startswith("\ufeff") else content
    return text.replace("\r\n", "\n").replace("\r", "\n")


@cache
def _markdown() -> MarkdownIt:
    # Block structure only: a heading's text is its inline token's source, which the block
    # rules set; parsing inlines (emphasis, links) or making cell tokens would cost for nothing.
    return block_parser()


def parse_document(content: str) -> Document:
    """Parse an output file's content (any line endings) into a :class:`Document`."""
    text = normalise(content)
    lines = text.split("\n")
    front = read_front_matter(lines)
    offset = front.body_start
    tokens = _markdown().parse("\n".join(lines[offset:]))
    return Document(
        text=text,
        lines=tuple(lines),
        front_matter=front,
        headings=tuple(_headings(tokens, offset)),
        tables=tuple(_tables(tokens, lines, offset)),
        body_start=offset + 1,
        source=content,
    )


def _headings(tokens: list[Token], offset: int) -> list[Heading]:
    found: list[Heading] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            found.append(Heading(int(tok.tag[1]), tokens[i + 1].content.strip(), tok.map[0] + offset + 1))
    return found


def _tables(tokens: list[Token], lines: list[str], offset: int) -> list[TableSpan]:
    found: list[TableSpan] = []
    for tok in tokens:
        if tok.type != "table_open" or not tok.map:
            continue
        start, end = tok.map[0] + offset, tok.map[1] + offset  # 0-based, end exclusive
        before = lines[start - 1] if start > offset else None
        after = lines[end] if end < len(lines) else None
        found.append(TableSpan(start + 1, end, before, after))
    return found


def is_separated(neighbour: str | None) -> bool:
    """True when a table's neighbour line is blank (also inside a block quote) or absent."""
    return neighbour is None or not neighbour.strip(" \t>")
