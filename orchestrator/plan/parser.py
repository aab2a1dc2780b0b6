"""Read a plan file into a :class:`~orchestrator.plan.model.Plan`.

markdown-it-py finds the block structure (headings, lists, GFM tables) and
gives every block its source lines; cells are then read from those exact lines
with :func:`~orchestrator.plan.table_syntax.split_cells`, so what the parser
reports and what the recorder rewrites are the same characters.

The parser is lenient about form (outer pipes or not, padding, alignment
colons, CRLF, BOM, case of headings and statuses) and reports structural
problems through :mod:`orchestrator.plan.check` rather than raising, so that
``orchestrate check`` can list every problem at once.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

from markdown_it import MarkdownIt
from markdown_it.token import Token

from orchestrator.errors import InputFileError, PlanError
from orchestrator.markdown_blocks import block_parser
from orchestrator.plan.model import (
    REQUIRED_COLUMNS,
    SECTION_KEYS,
    Phase,
    Plan,
    Row,
    Section,
    Table,
    TextLine,
    source_lines,
)
from orchestrator.plan.table_syntax import split_cells
from orchestrator.safeio import PLAN, read_bytes

_PHASE_RE = re.compile(r"^phase\s+(\d+)\b", re.IGNORECASE)
_LINK_RE = re.compile(r"^\[[^\]]*\]\(([^)\s]+)\)$")
_COLUMN_ALIASES = {"#": "#", "id": "#", "no": "#", "no.": "#"}


def _markdown() -> MarkdownIt:
    # Only the block structure and each block's raw text are needed: see orchestrator.markdown_blocks.
    return block_parser()


def read_plan(path: Path | str, *, require_phases: bool = False) -> Plan:
    """Read and parse the plan at ``path``; raise :class:`PlanError` if unreadable.

    With ``require_phases``, a file without any ``## Phase N`` section (an
    empty file, or the wrong markdown file) is refused too, for the commands
    that act on rows but do not otherwise check the plan.
    """
    path = Path(path)
    try:
        raw = read_bytes(path, PLAN)
    except InputFileError as exc:  # a FIFO, a device, a symlink loop, no permission, over the size limit
        raise PlanError(exc.message, path=path, hint=exc.hint) from None
    except FileNotFoundError:
        raise PlanError(
            "plan file not found", path=path, hint="check the path, or create one with `orchestrate init DIR`"
        ) from None
    except IsADirectoryError:
        raise PlanError("is a folder, not a plan file", path=path, hint=folder_hint(path)) from None
    except OSError as exc:
        raise PlanError(
            f"cannot read plan file: {exc.strerror or exc}", path=path,
            hint="pass the path of a readable markdown plan file",
        ) from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise PlanError(
            "plan file is not valid UTF-8", path=path, line=line, hint="save the file as UTF-8"
        ) from None
    plan = parse_plan(text, path)
    if require_phases and not plan.phases:
        raise PlanError(
            "no `## Phase N` section found: this is not a plan, or its task tables are missing",
            path=path,
            line=1,
            hint="add `## Phase 1` followed by a table | # | Title | Filename | Model | Status | "
            "(`orchestrate check PLAN` lists every problem)",
        )
    return plan


def folder_hint(folder: Path) -> str:
    """Name the plan files (markdown with a ``Phase N`` heading) a user probably meant by a folder."""
    found: list[Path] = []
    try:
        for candidate in sorted(p for pattern in ("*.md", "*/*.md") for p in folder.glob(pattern)):
            if len(found) < 5 and candidate.is_file() and _PHASE_HEADING_RE.search(_head(candidate)):
                found.append(candidate)
    except OSError:
        pass
    if not found:
        return "pass the plan's markdown file, e.g. plans/glossary.md (`orchestrate init DIR` writes one)"
    return "pass the plan's markdown file: " + ", ".join(str(p) for p in found)


_PHASE_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s+phase\s+\d", re.IGNORECASE | re.MULTILINE)


def _head(path: Path, limit: int = 1 << 20) -> str:
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", "replace")
    except OSError:
        return ""


def parse_plan(text: str, path: Path | str = "plan.md") -> Plan:
    """Parse plan ``text``; ``path`` anchors relative paths and messages."""
    path = Path(path)
    lines = source_lines(text)
    tokens = _Tokens(_markdown().parse("\n".join(lines)))
    headings = _headings(tokens.all)
    keys = [_normalise(h.text) for h in headings]
    ends = _section_ends(headings, len(lines))
    next_phase = _next_phase_lines(keys, headings)
    sections: dict[str, Section] = {}
    duplicates: list[Section] = []
    phases: list[Phase] = []
    title: str | None = None
    claimed_tables: set[int] = set()
    for index, heading in enumerate(headings):
        end = ends[index]
        key = keys[index]
        phase_match = _PHASE_RE.match(key)
        if heading.level == 1 and title is None and not phase_match and key not in SECTION_KEYS:
            title = heading.text
            continue
        if phase_match:
            # A phase ends at the next Phase heading too, even a lower-ranked
            # one, so `## Phase 1` cannot take the table of a `### Phase 2`.
            later = next_phase[index]
            end = end if later is None else min(end, later - 1)
            phase = _read_phase(int(phase_match.group(1)), heading, end, tokens, lines, claimed_tables)
            phases.append(phase)
            continue
        if key not in SECTION_KEYS:
            continue
        section = Section(key, heading.text, heading.line, end, _items(tokens, lines, heading.line, end))
        if key in sections:
            duplicates.append(section)
        else:
            sections[key] = section
    orphans = tuple(
        t.map[0] + 1 for t in tokens.all if t.type == "table_open" and t.map and t.map[0] not in claimed_tables
    )
    return Plan(path, text, title, sections, tuple(phases), tuple(duplicates), orphans)


@dataclass(frozen=True)
class _Heading:
    level: int
    text: str
    line: int  # 1-based


def _headings(tokens: list[Token]) -> list[_Heading]:
    found: list[_Heading] = []
    for i, tok in enumerate(tokens):
        if tok.type == "heading_open" and tok.map:
            inline = tokens[i + 1]
            found.append(_Heading(int(tok.tag[1]), inline.content.strip(), tok.map[0] + 1))
    return found


class _Tokens:
    """The token stream, and the tokens that start within a range of lines, found by bisection.

    Every per-section lookup reads only its own lines' tokens, so a plan with
    thousands of sections or phases parses in linear time (scanning the whole
    stream for each one made a 40 KiB plan of repeated headings take 24 s).
    """

    def __init__(self, tokens: list[Token]) -> None:
        self.all = tokens
        starts: list[int] = []
        last = 0
        for tok in tokens:  # closing tokens carry no map: they sort with the token before them
            last = tok.map[0] + 1 if tok.map else last
            starts.append(last)
        self._starts = starts if all(a <= b for a, b in pairwise(starts)) else None

    def between(self, first: int, last: int) -> range:
        """Indexes of a span holding every token whose first line is in ``first..last`` (1-based)."""
        if self._starts is None:  # never seen: block tokens come in line order
            return range(len(self.all))
        return range(bisect_left(self._starts, first), bisect_right(self._starts, last))


def _section_ends(headings: list[_Heading], n_lines: int) -> list[int]:
    """Last line of each heading's section: up to the next heading of equal or higher rank."""
    ends = [n_lines] * len(headings)
    open_: list[int] = []  # indexes of headings whose section has not ended yet
    for index, heading in enumerate(headings):
        while open_ and headings[open_[-1]].level >= heading.level:
            ends[open_.pop()] = heading.line - 1
        open_.append(index)
    return ends


def _next_phase_lines(keys: list[str], headings: list[_Heading]) -> list[int | None]:
    """For each heading, the line of the next ``Phase N`` heading after it (any rank), or None."""
    found: list[int | None] = [None] * len(headings)
    following: int | None = None
    for index in range(len(headings) - 1, -1, -1):
        found[index] = following
        if _PHASE_RE.match(keys[index]):
            following = headings[index].line
    return found


def _normalise(text: str) -> str:
    text = text.strip().rstrip(":").strip()
    return re.sub(r"\s+", " ", text).lower()


def _within(tok: Token, first: int, last: int) -> bool:
    return tok.map is not None and first <= tok.map[0] + 1 <= last


def _items(stream: _Tokens, lines: list[str], first: int, last: int) -> tuple[TextLine, ...]:
    """List items of a section, or its paragraph lines when it has no list.

    A multi-line list item is joined into one line; its line is the item's
    first line. Surrounding backticks and a bare markdown link are unwrapped so
    that ``Format Reference`` may be written as `` `path` `` or ``[x](path)``.
    """
    items: list[TextLine] = []
    para_lines: list[TextLine] = []
    depth = 0
    tokens = stream.all
    for i in stream.between(first + 1, last):
        tok = tokens[i]
        if not _within(tok, first + 1, last):
            continue
        if tok.type in ("bullet_list_open", "ordered_list_open"):
            depth += 1
        elif tok.type in ("bullet_list_close", "ordered_list_close"):
            depth -= 1
        elif tok.type == "list_item_open" and depth == 1 and tok.map:
            inline = _next_inline(tokens, i + 1)
            if inline is not None:
                items.append(TextLine(_clean(" ".join(inline.content.split("\n"))), tok.map[0] + 1))
        elif tok.type == "paragraph_open" and depth == 0 and tok.map:
            for offset, raw in enumerate(lines[tok.map[0] : tok.map[1]]):
                if raw.strip():
                    para_lines.append(TextLine(_clean(raw), tok.map[0] + offset + 1))
        elif tok.type in ("fence", "code_block") and depth == 0 and tok.map:
            for offset, raw in enumerate(tok.content.split("\n")):
                if raw.strip():
                    para_lines.append(TextLine(raw.strip(), tok.map[0] + offset + 2))
    return tuple(items) if items else tuple(para_lines)


def _next_inline(tokens: list[Token], start: int) -> Token | None:
    """The first inline token at or after ``start`` (by index: slicing the list would copy its tail)."""
    for index in range(start, len(tokens)):
        if tokens[index].type == "inline":
            return tokens[index]
    return None


def _clean(text: str) -> str:
    # CommonMark replaces U+0000 with U+FFFD, and a NUL would make every path call raise ValueError
    text = text.strip().replace("\x00", "\ufffd")
    link = _LINK_RE.match(text)
    if link:
        return link.group(1)
    if len(text) > 1 and text.startswith("`") and text.endswith("`") and text.count("`") == 2:
        return text[1:-1].strip()
    return text


def _read_phase(
    number: int,
    heading: _Heading,
    last: int,
    stream: _Tokens,
    lines: list[str],
    claimed: set[int],
) -> Phase:
    """The first table under a ``Phase N`` heading, read into rows."""
    tokens = stream.all
    for i in stream.between(heading.line + 1, last):
        tok = tokens[i]
        if tok.type == "table_open" and _within(tok, heading.line + 1, last) and tok.map:
            claimed.add(tok.map[0])
            return _read_table(number, heading, tokens, i, lines)
    return Phase(number, heading.line, None, ())


def _column_key(header: str) -> str:
    key = _normalise(header)
    return _COLUMN_ALIASES.get(key, key)


def _read_table(number: int, heading: _Heading, tokens: list[Token], start: int, lines: list[str]) -> Phase:
    row_lines: list[int] = []
    header_line: int | None = None
    for index in range(start, len(tokens)):
        tok = tokens[index]
        if tok.type == "table_close":
            break
        if tok.type == "tr_open" and tok.map:
            if header_line is None:
                header_line = tok.map[0]
            else:
                row_lines.append(tok.map[0])
    assert header_line is not None
    columns = tuple(cell.text for cell in split_cells(lines[header_line]))
    keys = [_column_key(c) for c in columns]
    missing = tuple(c for c in REQUIRED_COLUMNS if c not in keys)
    rows: list[Row] = []
    for index in row_lines:
        cells = [c.text for c in split_cells(lines[index])]
        cells += [""] * (len(columns) - len(cells))
        by_key = dict(zip(keys, cells, strict=False))
        status_text = by_key.get("status", "")
        rows.append(
            Row(
                phase=number,
                id=by_key.get("#", ""),
                title=by_key.get("title", ""),
                filename=_clean(by_key.get("filename", "")),
                model=by_key.get("model", "").strip(),
                status=status_text.strip().lower(),
                status_text=status_text,
                line=index + 1,
                cells=dict(zip(columns, cells, strict=False)),
            )
        )
    last_line = (row_lines[-1] if row_lines else header_line + 1) + 1
    table = Table(header_line + 1, last_line, columns, missing)
    return Phase(number, heading.line, table, tuple(rows))


def required_sections() -> list[str]:
    """Section keys a plan must have, for messages and docs."""
    return [key for key, required in SECTION_KEYS.items() if required]
