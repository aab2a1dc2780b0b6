"""Filenames derived from titles: stable, safe, unique case-insensitively.

A slug keeps only letters and digits (accents folded: "Crème" -> "creme";
other scripts kept as they are), joined by single hyphens, at most
:data:`MAX_SLUG` characters cut at a hyphen. It can hold no ``/``, ``\\``,
``.`` or ``..``, so a derived filename never leaves the Output Directory,
whatever the title says. The same title always gives the same slug; a slug
already taken in the plan gets ``-2``, ``-3``, ... .
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Container
from pathlib import PurePosixPath

MAX_SLUG = 80
UNTITLED = "untitled"
#: Names Windows refuses for a file, whatever the extension.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}
_NOT_WORD_RE = re.compile(r"[\W_]+")


def slug(title: str) -> str:
    """``"Optimistic vs Pessimistic Locking"`` -> ``"optimistic-vs-pessimistic-locking"``."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", title) if not unicodedata.combining(c))
    text = _NOT_WORD_RE.sub("-", folded.casefold()).strip("-")
    if len(text) > MAX_SLUG:
        cut = text[:MAX_SLUG]
        text = (cut.rsplit("-", 1)[0] if "-" in cut else cut).strip("-")
    if not text:
        return UNTITLED
    return f"{text}-doc" if text in _RESERVED else text


def filename_key(filename: str) -> str:
    """How filenames are compared for collisions: as ``check`` compares them."""
    return PurePosixPath(filename.replace("\\", "/")).as_posix().casefold()


def unique_filename(title: str, taken: Container[str], suffix: str = ".md") -> str:
    """``slug(title) + suffix``, numbered when that name is taken (``taken`` as :func:`filename_key`)."""
    used = taken
    base = slug(title)
    name = f"{base}{suffix}"
    number = 2
    while filename_key(name) in used:
        name = f"{base}-{number}{suffix}"
        number += 1
    return name
