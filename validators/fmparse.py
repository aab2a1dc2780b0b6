"""Read a document's YAML front matter safely, keeping every scalar as written.

python-frontmatter is not used here: it turns a list or scalar block, or a
missing closing ``---``, into an empty mapping, and YAML coerces dates and
numbers. Instead the block is found by its delimiter lines and composed with
PyYAML's ``BaseLoader``, whose scalars are all strings, so ``2024-01-01`` or
``3`` are compared exactly as the file wrote them. Every way the block can be
unusable has its own :class:`FrontMatter` status and message.

The block is composed by libyaml's C parser when PyYAML has it (``CBaseLoader``:
the C twin of ``BaseLoader``; ``CSafeLoader`` is the same parser with a resolver
whose tags are never used here), else by the pure-Python one. An error is
re-composed by the pure-Python parser, so messages do not depend on which one
is installed.

Front matter is hostile input (a reference, an output, a model's reply), so
it is bounded: a YAML alias re-uses a node without copying it, and expanding
nine aliases of nine aliases ("billion laughs") would build 10**9 values. The
conversion counts every value it produces, aliases included, and stops at
:data:`MAX_VALUES`; nesting stops at :data:`MAX_DEPTH`, and an alias that
contains itself is refused. Each is a ``MALFORMED`` front matter with the
line of the offending alias, found in microseconds.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from enum import Enum

import yaml

#: A front matter value: a scalar string, a list, or a mapping of them.
YamlValue = str | list["YamlValue"] | dict[str, "YamlValue"]

#: Most values (scalars, lists and mappings, aliases expanded) one front matter block may hold.
MAX_VALUES = 10_000
#: Most lines one front matter block may have (checked before it is composed).
MAX_LINES = 10_000
#: Deepest nesting of lists and mappings in one block.
MAX_DEPTH = 50
#: Deepest bracket nesting handed to the pure-Python parser (libyaml stops at 1,000 itself).
MAX_FLOW_DEPTH = 500
_BRACKET_RE = re.compile(r"[\[\]{}]")

_FAST_LOADER: type[yaml.BaseLoader] | None = getattr(yaml, "CBaseLoader", None)

_HEADING_RE = re.compile(r"^#{1,6}\s")
_KEY_LINE_RE = re.compile(r"^[A-Za-z_][\w-]*\s*:(\s|$)")


class FMStatus(Enum):
    OK = "ok"
    MISSING = "missing"
    NOT_AT_START = "not at start"
    UNCLOSED = "unclosed"
    MALFORMED = "malformed"
    NOT_MAPPING = "not a mapping"
    EMPTY = "empty"


@dataclass(frozen=True)
class FMItem:
    """One list item, with its 1-based line."""

    value: YamlValue
    line: int


@dataclass(frozen=True)
class FMEntry:
    """One top-level key: its value as written and where it sits."""

    key: str
    value: YamlValue
    line: int
    items: tuple[FMItem, ...] = ()  # for a list value

    @property
    def kind(self) -> str:
        """``list``, ``mapping`` or ``scalar``: the value's shape, for messages."""
        if isinstance(self.value, list):
            return "list"
        return "mapping" if isinstance(self.value, dict) else "scalar"


@dataclass(frozen=True)
class FrontMatter:
    """The front matter block, or why there is no usable one.

    ``body_start`` is the 0-based index of the first line after the block
    (0 when there is no block), so the markdown body can be parsed on its own
    with correct line numbers.
    """

    status: FMStatus
    message: str = ""
    line: int | None = None
    entries: dict[str, FMEntry] = field(default_factory=dict)
    duplicates: tuple[FMEntry, ...] = ()
    body_start: int = 0

    @property
    def ok(self) -> bool:
        return self.status is FMStatus.OK


def read_front_matter(lines: list[str]) -> FrontMatter:
    """Find and parse the front matter block at the top of ``lines`` (LF-split, no BOM)."""
    if not lines or not _is_delimiter(lines[0], opening=True):
        return _no_opening(lines)
    close = next((i for i in range(1, len(lines)) if _is_delimiter(lines[i])), None)
    if close is None:
        return FrontMatter(
            FMStatus.UNCLOSED,
            "front matter opened with '---' on line 1 is never closed: add a '---' line after the last key",
            1,
            body_start=1,
        )
    return _parse_block(lines, close)


def _is_delimiter(line: str, opening: bool = False) -> bool:
    text = line.rstrip()
    return text == "---" or (not opening and text == "...")


def _no_opening(lines: list[str]) -> FrontMatter:
    """No ``---`` on line 1: say what is there instead, and where a block may start."""
    first = next((i for i, text in enumerate(lines) if text.strip()), None)
    if first is None:
        return FrontMatter(FMStatus.MISSING, "the file is empty: expected front matter starting with '---'", 1)
    late = _late_opening(lines)
    if late is not None:
        before = [t for t in lines[:late] if t.strip()]
        found = f"'{_clip(before[0])}'" if before else "blank lines"
        return FrontMatter(
            FMStatus.NOT_AT_START,
            f"front matter must begin on line 1, but its '---' is on line {late + 1} "
            f"after {found}; remove everything above it",
            1,
        )
    if _KEY_LINE_RE.match(lines[first]):
        return FrontMatter(
            FMStatus.MISSING,
            f"no front matter: line {first + 1} '{_clip(lines[first])}' looks like a YAML key "
            "but the file does not start with a '---' line",
            first + 1,
        )
    return FrontMatter(
        FMStatus.MISSING,
        f"no front matter: the file must start with a '---' line, found '{_clip(lines[first])}'",
        first + 1,
    )


def _late_opening(lines: list[str]) -> int | None:
    """A ``---`` line below line 1 opening a closed block, with no heading above it."""
    for index, text in enumerate(lines):
        if _HEADING_RE.match(text):
            return None
        if _is_delimiter(text, opening=True):
            return index if any(_is_delimiter(t) for t in lines[index + 1 :]) else None
    return None


@functools.lru_cache(maxsize=8)
def compose(text: str) -> yaml.Node | None:
    """``text`` composed into nodes (fast parser first); :class:`yaml.YAMLError` if it is not YAML.

    Composing never expands an alias (the node is shared), so it is linear in
    the text; deep nesting, which makes the pure-Python parser recurse, is a
    YAMLError too. The last few results are kept (nodes are only read): finding
    a reply's front matter and then reading it compose the same block.
    """
    if text.count("\n") > MAX_LINES:
        raise yaml.YAMLError(f"more than {MAX_LINES:,} lines of front matter")
    fast_error: yaml.YAMLError | None = None
    if _FAST_LOADER is not None:
        try:
            return yaml.compose(text, Loader=_FAST_LOADER)
        except yaml.YAMLError as exc:
            fast_error = exc  # composed again below, for the pure-Python parser's message and marks
    deep = _too_deep(text)
    if deep is not None:  # the pure-Python parser takes seconds to recurse that deep: refuse before it starts
        raise fast_error or deep
    try:
        return yaml.compose(text, Loader=yaml.BaseLoader)
    except RecursionError:
        raise fast_error or yaml.YAMLError("lists or mappings nested too deeply for the parser to follow") from None


def _too_deep(text: str) -> yaml.MarkedYAMLError | None:
    """An error at the first bracket nested deeper than :data:`MAX_FLOW_DEPTH`, if any.

    An upper bound: brackets inside quoted strings count too, so only text far
    beyond any real front matter is refused.
    """
    depth = 0
    for match in _BRACKET_RE.finditer(text):
        depth = depth + 1 if match.group() in "[{" else max(depth - 1, 0)
        if depth > MAX_FLOW_DEPTH:
            line = text.count("\n", 0, match.start())
            mark = yaml.Mark("<front matter>", match.start(), line, 0, None, 0)
            return yaml.MarkedYAMLError(problem=f"lists or mappings nested more than {MAX_FLOW_DEPTH} levels deep",
                                        problem_mark=mark)
    return None


class _TooBig(Exception):
    """The block expands past a bound; ``line`` is the node where it did."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def _parse_block(lines: list[str], close: int) -> FrontMatter:
    if close - 1 > MAX_LINES:  # composing 50,000 keys takes half a second, and each is a value anyway
        return FrontMatter(FMStatus.MALFORMED, f"front matter has {close - 1:,} lines, more than the "
                           f"{MAX_LINES:,} a front matter block may hold", 2, body_start=close + 1)
    block = "\n".join(lines[1:close]) + "\n"
    try:
        node = compose(block)
    except yaml.YAMLError as exc:
        return _yaml_failure(lines, close, exc)
    if node is None:
        return FrontMatter(
            FMStatus.EMPTY,
            "front matter is empty: expected 'key: value' lines",
            1,
            body_start=close + 1,
        )
    if not isinstance(node, yaml.MappingNode):
        shape = "a list" if isinstance(node, yaml.SequenceNode) else f"a single value '{_clip(str(node.value))}'"
        return FrontMatter(
            FMStatus.NOT_MAPPING,
            f"front matter must be a mapping of 'key: value' lines, but it is {shape}",
            node.start_mark.line + 2,
            body_start=close + 1,
        )
    try:
        entries, duplicates = _entries(node)
    except _TooBig as exc:
        return FrontMatter(FMStatus.MALFORMED, f"front matter {exc.message}", exc.line, body_start=close + 1)
    return FrontMatter(FMStatus.OK, "", 1, entries, tuple(duplicates), close + 1)


def _yaml_failure(lines: list[str], close: int, exc: yaml.YAMLError) -> FrontMatter:
    """Malformed YAML, or an unclosed block that ran into the markdown body."""
    heading = next((i for i in range(1, close) if _HEADING_RE.match(lines[i])), None)
    if heading is not None:
        return FrontMatter(
            FMStatus.UNCLOSED,
            f"front matter opened on line 1 is not closed before the heading on line {heading + 1} "
            f"'{_clip(lines[heading])}': add a '---' line after the last key",
            1,
            body_start=1,
        )
    line = _error_line(exc, close)
    problem = getattr(exc, "problem", None) or (str(exc).splitlines() or ["unreadable"])[0]
    context = getattr(exc, "context", None)
    detail = f"{problem} ({context})" if context else str(problem)
    return FrontMatter(
        FMStatus.MALFORMED,
        f"front matter is not valid YAML: {detail} at line {line}: '{_clip(lines[line - 1])}'",
        line,
        body_start=close + 1,
    )


def _error_line(exc: yaml.YAMLError, close: int) -> int:
    """The file line of a YAML error; the construct's start when the error is at the block's end."""
    problem = getattr(exc, "problem_mark", None)
    context = getattr(exc, "context_mark", None)
    line = problem.line + 2 if problem is not None else 1
    if line >= close + 1 and context is not None:
        line = context.line + 2
    return min(max(line, 2), close + 1)


def _entries(node: yaml.MappingNode) -> tuple[dict[str, FMEntry], list[FMEntry]]:
    entries: dict[str, FMEntry] = {}
    duplicates: list[FMEntry] = []
    budget = _Budget()
    for key_node, value_node in node.value:
        key = str(budget.convert(key_node, 1))
        items: tuple[FMItem, ...] = ()
        try:
            value = budget.convert(value_node, 1)
        except _TooBig as exc:  # name the key whose value did it, on its own line
            raise _TooBig(f"key '{_clip(key)}' {exc.message}", key_node.start_mark.line + 2) from None
        if isinstance(value_node, yaml.SequenceNode) and isinstance(value, list):
            items = tuple(FMItem(v, i.start_mark.line + 2) for v, i in zip(value, value_node.value, strict=True))
        entry = FMEntry(key, value, key_node.start_mark.line + 2, items)
        if key in entries:
            duplicates.append(entry)
        else:
            entries[key] = entry
    return entries, duplicates


class _Budget:
    """Converts composed nodes to plain values, counting each one produced (aliases re-count)."""

    def __init__(self) -> None:
        self.left = MAX_VALUES
        self.open: set[int] = set()  # ids of the nodes being converted: an alias of one is a cycle

    def convert(self, node: yaml.Node, depth: int) -> YamlValue:
        """``node`` as plain strings, lists and dicts (no type coercion)."""
        line = node.start_mark.line + 2
        self.left -= 1
        if self.left < 0:
            raise _TooBig(f"expands to more than {MAX_VALUES:,} values: YAML aliases (*name) re-use whole "
                          "values, so a few lines can expand without bound; write the values out", line)
        if isinstance(node, yaml.ScalarNode):
            return str(node.value)
        if depth > MAX_DEPTH:
            raise _TooBig(f"nests lists or mappings deeper than {MAX_DEPTH} levels", line)
        if id(node) in self.open:
            raise _TooBig("has a YAML alias that contains itself, so its value never ends", line)
        self.open.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.convert(item, depth + 1) for item in node.value]
            return {str(self.convert(k, depth + 1)): self.convert(v, depth + 1) for k, v in node.value}
        finally:
            self.open.discard(id(node))


def _clip(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"
