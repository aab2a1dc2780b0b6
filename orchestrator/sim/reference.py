"""Reading what the fake model is asked: the format reference, the rules, the row.

The request comes from :func:`orchestrator.prompts.build_request`: a
``<format_reference path="...">`` element holding the hand-written example, a
``Follow these content rules: a; b; c.`` sentence, and the row's own sentences
(``Produce output covering TITLE.``, ``Row details: k: v.``, ``Write the output
to PATH.``). The reference is taken apart line by line, not through a YAML or
markdown library, so that its *style* (flow or block lists, quoting, table
pipes) survives into the imitation.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from orchestrator.sim.tokens import block_text

_REFERENCE_RE = re.compile(r"<format_reference[^>]*>\n?(.*?)\n?</format_reference>", re.DOTALL)
_TASK_MARK = "Produce output covering "
_RULES_MARK = "Follow these content rules: "
_DETAILS_MARK = "Row details: "
_NEXT_SENTENCES = (" Row details: ", " Follow these content rules: ", " Write the output to ")
_ENUM_RES = (
    re.compile(r"[`'\"]?([\w-]+)[`'\"]?\s+(?:must|should|has to|needs to)\s+be\s+one\s+of:?\s*(.+)", re.I),
    re.compile(r"[`'\"]?([\w-]+)[`'\"]?\s*\((?:must be\s+)?one\s+of:?\s*([^)]+)\)", re.I),
)

PartKind = Literal["prose", "table", "list", "heading"]


@dataclass(frozen=True)
class FrontMatterEntry:
    """One top-level front matter key, with enough style to imitate it."""

    key: str
    kind: Literal["scalar", "flow_list", "block_list", "nested"]
    value: str = ""  # scalar text without quotes
    quote: str = ""  # the scalar's quote character, if any
    items: tuple[str, ...] = ()
    item_prefix: str = "  - "  # block lists: the text before each item
    raw: tuple[str, ...] = ()  # nested: the indented lines, copied verbatim


@dataclass(frozen=True)
class Part:
    """A piece of a section: prose, a table, a list, or a sub-heading."""

    kind: PartKind
    chars: int = 0  # prose: its length; list and table: mean item or cell length
    text: str = ""  # heading: the line; table: the separator line; list: the marker
    header: tuple[str, ...] = ()  # table: the header cells
    outer_pipes: bool = True
    count: int = 0  # list: number of items


@dataclass(frozen=True)
class Section:
    """A ``## `` section (``heading`` None for what comes before the first one)."""

    heading: str | None
    parts: tuple[Part, ...]
    chars: int  # length of the section's content in the reference
    h1: bool = False  # the preamble opens with a ``# `` title line


@dataclass(frozen=True)
class Reference:
    """The hand-written example, reduced to its shape."""

    front_matter: tuple[FrontMatterEntry, ...]
    sections: tuple[Section, ...]
    text: str

    @property
    def title(self) -> str:
        first = self.front_matter[0] if self.front_matter else None
        return first.value if first and first.kind == "scalar" else ""


@dataclass(frozen=True)
class Brief:
    """What one request asks for."""

    title: str
    reference: Reference | None
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    user_turns: int = 1


# --- the request -------------------------------------------------------------


def read_brief(request: Mapping[str, Any]) -> Brief:
    """Find the title, reference, rules and row details anywhere in the request."""
    system = _texts(request.get("system"))
    user: list[str] = []
    turns = 0
    for message in request.get("messages") or []:
        if isinstance(message, Mapping) and message.get("role") == "user":
            turns += 1
            user.extend(_texts(message.get("content")))
    everything = "\n".join([*system, *user])
    ref_match = _REFERENCE_RE.search(everything)
    reference = parse_reference(ref_match.group(1)) if ref_match else None
    everything = _REFERENCE_RE.sub("", everything)  # its own text may quote the markers
    title = _sentence_after(everything, _TASK_MARK) or "Untitled"
    rules = _sentence_after(everything, _RULES_MARK)
    details = _sentence_after(everything, _DETAILS_MARK)
    return Brief(
        title=title,
        reference=reference,
        enums=parse_enums(rules.split("; ") if rules else []),
        details=_parse_details(details),
        user_turns=max(turns, 1),
    )


def _texts(content: Any) -> list[str]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [block_text(b) for b in content]
    return [block_text(content)]


def _sentence_after(text: str, mark: str) -> str:
    """The rest of the line after ``mark``, up to the next known sentence, less its period."""
    start = text.find(mark)
    if start < 0:
        return ""
    line = text[start + len(mark) :].split("\n", 1)[0]
    for nxt in _NEXT_SENTENCES:
        if nxt.strip() != mark.strip():
            line = line.split(nxt, 1)[0]
    return line.strip().removesuffix(".").strip()


def parse_enums(rules: Sequence[str]) -> dict[str, tuple[str, ...]]:
    """``{"category": ("A", "B")}`` from rules like "category must be one of: A, B"."""
    enums: dict[str, tuple[str, ...]] = {}
    for rule in rules:
        for pattern in _ENUM_RES:
            for m in pattern.finditer(rule):
                values = [
                    v.strip().strip("`'\".") for v in re.split(r",\s*(?:or\s+|and\s+)?|\s+or\s+|\s*\|\s*", m.group(2))
                ]
                found = tuple(v for v in values if v)
                if found:
                    enums.setdefault(m.group(1).lower(), found)
    return enums


def _parse_details(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in text.split("; ") if text else []:
        name, sep, value = item.partition(": ")
        if sep and value.strip():
            out[name.strip().lower()] = value.strip()
    return out


# --- the reference -----------------------------------------------------------


def parse_reference(text: str) -> Reference:
    lines = text.strip("\n").splitlines()
    front: list[FrontMatterEntry] = []
    body = lines
    if lines and lines[0].strip() == "---":
        end = next((i for i in range(1, len(lines)) if lines[i].strip() in ("---", "...")), None)
        if end is not None:
            front = _parse_front_matter(lines[1:end])
            body = lines[end + 1 :]
    return Reference(tuple(front), tuple(_parse_sections(body)), text)


def _parse_front_matter(lines: list[str]) -> list[FrontMatterEntry]:
    entries: list[FrontMatterEntry] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        m = re.match(r"([^\s#:][^:]*):(?:\s+(.*))?$", line)
        i += 1
        if not m:
            continue
        key, value = m.group(1).strip(), (m.group(2) or "").strip()
        children: list[str] = []
        while i < len(lines) and (lines[i].startswith((" ", "\t", "-")) or not lines[i].strip()):
            children.append(lines[i])
            i += 1
        while children and not children[-1].strip():
            children.pop()
        entries.append(_entry(key, value, children))
    return entries


def _entry(key: str, value: str, children: list[str]) -> FrontMatterEntry:
    if value.startswith("[") and value.endswith("]"):
        items = tuple(_unquote(v)[0] for v in value[1:-1].split(",") if v.strip())
        return FrontMatterEntry(key, "flow_list", items=items)
    if not value and children and all(c.lstrip().startswith("-") for c in children if c.strip()):
        first = children[0]
        prefix = first[: len(first) - len(first.lstrip())] + "- "
        items = tuple(_unquote(c.lstrip()[1:].strip())[0] for c in children if c.strip())
        return FrontMatterEntry(key, "block_list", items=items, item_prefix=prefix)
    if not value and children:
        return FrontMatterEntry(key, "nested", raw=tuple(children))
    text, quote = _unquote(value.split(" #", 1)[0].strip() if value[:1] not in "'\"" else value)
    return FrontMatterEntry(key, "scalar", value=text, quote=quote)


def _unquote(value: str) -> tuple[str, str]:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1], value[0]
    return value, ""


def _parse_sections(lines: list[str]) -> list[Section]:
    chunks: list[tuple[str | None, list[str]]] = [(None, [])]
    in_fence = False
    for line in lines:
        if line.lstrip().startswith(("```", "~~~")):
            in_fence = not in_fence
        if not in_fence and line.startswith("## "):
            chunks.append((line[3:].strip(), []))
        else:
            chunks[-1][1].append(line)
    sections: list[Section] = []
    for heading, chunk in chunks:
        h1 = heading is None and any(c.startswith("# ") for c in chunk)
        kept = [c for c in chunk if not (heading is None and c.startswith("# "))]
        parts = _parse_parts(kept)
        if heading is not None or parts or h1:
            chars = sum(len(c.strip()) + 1 for c in kept if c.strip())
            sections.append(Section(heading, tuple(parts), chars, h1))
    return sections


def _parse_parts(lines: list[str]) -> list[Part]:
    parts: list[Part] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped:
            i += 1
        elif "|" in stripped and i + 1 < len(lines) and _is_separator(lines[i + 1]):
            j = i + 2
            while j < len(lines) and "|" in lines[j] and lines[j].strip():
                j += 1
            header = tuple(_cells(stripped))
            cells = [c for row in lines[i + 2 : j] for c in _cells(row.strip())]
            mean = sum(map(len, cells)) // max(1, len(cells))
            outer = stripped.startswith("|")
            parts.append(Part("table", mean, lines[i + 1].strip(), header, outer))
            i = j
        elif m := re.match(r"\s*([-*+]|\d+[.)])\s+", line):
            j = i
            lengths: list[int] = []
            while j < len(lines) and re.match(r"\s*([-*+]|\d+[.)])\s+", lines[j]):
                lengths.append(len(lines[j].strip()))
                j += 1
            marker = "1. " if m.group(1)[0].isdigit() else f"{m.group(1)} "
            mean = sum(lengths) // len(lengths) - len(marker)
            parts.append(Part("list", max(10, mean), marker, count=len(lengths)))
            i = j
        elif stripped.startswith("#"):
            parts.append(Part("heading", text=stripped))
            i += 1
        else:
            j = i
            while j < len(lines) and lines[j].strip() and "|" not in lines[j]:
                j += 1
            j = max(j, i + 1)
            parts.append(Part("prose", sum(len(x) + 1 for x in lines[i:j])))
            i = j
    return parts


def _is_separator(line: str) -> bool:
    pattern = r"\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*"
    return "|" in line and bool(re.fullmatch(pattern, line))


def _cells(row: str) -> list[str]:
    inner = row.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip() for c in re.split(r"(?<!\\)\|", inner)]
