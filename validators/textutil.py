"""Lenient reading of rule text: lists, quotes, number words, key names.

Rules are matched ignoring case, backticks, quotes, commas and "and", but a
list item is only ever split or unwrapped, never reworded: values keep the
case and spelling the plan gave them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SMART = str.maketrans({"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u00a0": " "})
_WRAPPERS = ("`", '"', "'", "**", "*", "_")
_CONJUNCTION_RE = re.compile(r"\s+(?:and|or|&)\s+", re.IGNORECASE)
_LEADING_CONJ_RE = re.compile(r"^(?:and|or|&)\s+", re.IGNORECASE)

_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve "
    "thirteen fourteen fifteen sixteen seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = {word: n for n, word in enumerate(_WORDS.split(" "))}
NUM = r"(?:\d+|" + "|".join(NUMBER_WORDS) + r")"
KEY = r"[A-Za-z_][\w-]*"
KEY_RE = re.compile(rf"^{KEY}$")


def clean(text: str) -> str:
    """Normalise spacing and typographic quotes; drop a trailing period or semicolon."""
    text = re.sub(r"\s+", " ", text.translate(_SMART)).strip()
    return text.rstrip(".;").rstrip()


def unwrap(item: str) -> str:
    """Strip one layer of backticks, quotes or emphasis around an item, repeatedly."""
    item = item.strip()
    changed = True
    while changed:
        changed = False
        for mark in _WRAPPERS:
            if len(item) > 2 * len(mark) and item.startswith(mark) and item.endswith(mark):
                item = item[len(mark) : -len(mark)].strip()
                changed = True
    return item


def number(word: str) -> int | None:
    word = word.strip().lower()
    if word.isdigit():
        return int(word)
    return NUMBER_WORDS.get(word)


def _top_level_pieces(text: str) -> list[str]:
    """Split on commas, semicolons and ``|`` outside quotes, backticks and parentheses.

    A slash between spaces (``A / B``) also separates; ``CI/CD`` stays whole.
    """
    pieces: list[str] = []
    current: list[str] = []
    depth = 0
    quote: str | None = None
    for index, char in enumerate(text):
        if char == "/" and not quote and depth == 0 and _spaced(text, index):
            char = ","
        if quote:
            quote = None if char == quote else quote
        elif char in '`"':
            quote = char
        elif char in "([":
            depth += 1
        elif char in ")]" and depth:
            depth -= 1
        elif char in ",;|" and depth == 0:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return [p.strip() for p in pieces if p.strip()]


def _spaced(text: str, index: int) -> bool:
    """Whitespace on both sides of ``text[index]``."""
    return text[index - 1 : index].isspace() and text[index + 1 : index + 2].isspace()


_QUOTED_RE = re.compile(r"`[^`]*`|\"[^\"]*\"")


def _is_single_quoted(piece: str) -> bool:
    """The whole piece is one quoted or backticked span."""
    match = _QUOTED_RE.fullmatch(piece.strip())
    return match is not None


def _split_conjunctions(piece: str) -> list[str]:
    """Split on "and"/"or"/"&" outside quoted spans."""
    spans: list[str] = []

    def hide(match: re.Match[str]) -> str:
        spans.append(match.group(0))
        return f"\x00{len(spans) - 1}\x00"

    hidden = _QUOTED_RE.sub(hide, piece)
    parts = _CONJUNCTION_RE.split(hidden)
    return [re.sub(r"\x00(\d+)\x00", lambda m: spans[int(m.group(1))], part) for part in parts]


def split_list(text: str, known: Iterable[str] = ()) -> list[str]:
    """``"A, B, and C"`` → ``["A", "B", "C"]``; also ``A and B``, ``A, B or C``, ``A; B``, ``A | B``, ``A / B``.

    A piece is split on "and"/"or" only outside quotes, and not at all when it
    is a name in ``known`` (compared case-insensitively), so "Pros and Cons"
    survives when the format reference has such a heading.
    """
    known_keys = {k.casefold() for k in known}
    items: list[str] = []
    for piece in _top_level_pieces(text):
        piece = _LEADING_CONJ_RE.sub("", piece).strip()
        if _is_single_quoted(piece) or unwrap(piece).casefold() in known_keys or "(" in piece:
            items.append(unwrap(piece))
            continue
        items.extend(unwrap(part) for part in _split_conjunctions(piece) if part.strip())
    return [item for item in items if item]


def resolve_key(word: str, known: Iterable[str], *, exact_only: bool = False) -> str | None:
    """The known front matter key ``word`` names (case and plural leniency), else ``None``."""
    keys = list(known)
    if word in keys:
        return word
    folded = {k.casefold(): k for k in keys}
    if word.casefold() in folded:
        return folded[word.casefold()]
    if exact_only:
        return None
    base = word.casefold()
    for variant in (
        base + "s",
        base + "es",
        base[:-1] if base.endswith("s") else "",
        base[:-2] if base.endswith("es") else "",
        base[:-3] + "y" if base.endswith("ies") else "",
    ):
        if variant and variant in folded:
            return folded[variant]
    return None
