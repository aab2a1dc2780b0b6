"""Hypothesis strategies for plans in every table form the recorder must keep intact."""

from __future__ import annotations

from dataclasses import dataclass, field

from hypothesis import strategies as st

HEAD = """# Batch Creation Plan

Prose with a | pipe and `code | pipes` that is not a table.

## Format Reference
output/idempotency.md

## Output Directory
output/

## Content Rules
- Every output needs front matter: term, category, tags

## Validation Checklist
1. Output registered in tracking.yaml
"""

STYLES = {"lower": str.lower, "title": str.capitalize, "upper": str.upper}
ALIGNS = ("", "left", "right", "center")


@dataclass
class GenRow:
    phase: int
    id: str
    title: str  # as written in the cell (pipes escaped)
    filename: str
    status: str  # lower case


@dataclass
class GenTable:
    outer: str  # "both", "none" or "leading"
    aligned: bool
    rows: list[GenRow] = field(default_factory=list)


@dataclass
class GenPlan:
    text: str
    tables: list[GenTable]
    style: str

    @property
    def rows(self) -> list[GenRow]:
        return [row for table in self.tables for row in table.rows]


_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789éü漢", min_size=1, max_size=8)


@st.composite
def titles(draw: st.DrawFn) -> str:
    words = draw(st.lists(_WORD, min_size=1, max_size=4))
    if draw(st.booleans()):
        words.insert(draw(st.integers(0, len(words))), "\\|")
    return " ".join(words)


def _pad(text: str, width: int, align: str) -> str:
    if align == "right":
        return text.rjust(width)
    if align == "center":
        return text.center(width)
    return text.ljust(width)


def _delimiter(width: int, align: str, spaced: bool) -> str:
    dashes = width if spaced else width + 2
    left = ":" if align in ("left", "center") else ""
    right = ":" if align in ("right", "center") else ""
    core = left + "-" * (dashes - len(left) - len(right)) + right
    return f" {core} " if spaced else core


def _join(cells: list[str], outer: str) -> str:
    inner = "|".join(cells)
    if outer == "both":
        return f"|{inner}|"
    if outer == "leading":
        return f"|{inner}"
    return inner


@st.composite
def tables(draw: st.DrawFn, phase: int, first_id: int, style: str) -> tuple[GenTable, list[str]]:
    outer = draw(st.sampled_from(["both", "both", "none", "leading"]))
    table = GenTable(outer, draw(st.booleans()))
    case = STYLES[style]
    for offset in range(draw(st.integers(1, 6))):
        status = draw(st.sampled_from(["pending", "pending", "complete", "skipped"]))
        row_id = str(first_id + offset)
        table.rows.append(GenRow(phase, row_id, draw(titles()), f"file-{row_id}.md", status))
    header = ["#" if outer == "both" else "ID", "Title", "Filename", "Model", case("Status")]
    body = [[r.id, r.title, r.filename, "haiku", case(r.status)] for r in table.rows]
    aligns = [draw(st.sampled_from(ALIGNS)) for _ in header]
    if table.aligned:
        widths = [max(3, *(len(line[i]) for line in [header, *body])) for i in range(len(header))]
        spaced = draw(st.booleans())
        cells = [[f" {_pad(t, widths[i], aligns[i])} " for i, t in enumerate(line)] for line in [header, *body]]
        delimiter = [_delimiter(widths[i], aligns[i], spaced) for i in range(len(header))]
    else:
        cells = [[f" {t} " for t in line] for line in [header, *body]]
        delimiter = [_delimiter(draw(st.integers(1, 3)), a, False) for a in aligns]
    lines = [_join(c, outer) for c in cells]
    lines.insert(1, _join(delimiter, outer))
    return table, lines


@st.composite
def plans(draw: st.DrawFn) -> GenPlan:
    style = draw(st.sampled_from(sorted(STYLES)))
    lines = HEAD.split("\n")[:-1]
    gen_tables: list[GenTable] = []
    next_id = 1
    for phase in range(1, draw(st.integers(1, 3)) + 1):
        table, table_lines = draw(tables(phase, next_id, style))
        next_id += len(table.rows)
        gen_tables.append(table)
        lines += [f"## Phase {phase}", *table_lines, "", "Some prose after the table.", ""]
    lines += ["## Model Selection Rules", "- Default: haiku"]
    lines = [line + " " * draw(st.integers(0, 2)) if draw(st.booleans()) else line for line in lines]
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    endings = [draw(st.sampled_from([eol, eol, eol, "\n", "\r\n"])) for _ in lines]
    text = "".join(line + end for line, end in zip(lines, endings, strict=True))
    if not draw(st.booleans()):
        text = text.rstrip("\r\n ")
    if draw(st.booleans()):
        text = "\ufeff" + text
    return GenPlan(text, gen_tables, style)
