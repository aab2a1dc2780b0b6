"""Line handling that keeps every byte: line endings stay attached to their line.

The plan parser numbers lines after turning ``\\r\\n`` and a lone ``\\r`` into
``\\n``; :func:`split_lines` splits on exactly those three endings, so line
``i`` here is line ``i + 1`` of the parser, and ``"".join(lines)`` gives back
the original text byte for byte.
"""

from __future__ import annotations

import os
import re

_LINE_RE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def split_lines(text: str) -> list[str]:
    """Lines of ``text``, each with its own line ending (the last may have none)."""
    return _LINE_RE.findall(text)


def line_ending(line: str) -> str:
    """The ending of one line: ``"\\r\\n"``, ``"\\r"``, ``"\\n"`` or ``""``."""
    if line.endswith("\r\n"):
        return "\r\n"
    if line.endswith(("\r", "\n")):
        return line[-1]
    return ""


def body(line: str) -> str:
    """The line without its line ending."""
    return line[: len(line) - len(line_ending(line))]


def dominant_ending(lines: list[str]) -> str:
    """The line ending most lines use (``"\\n"`` for a file with none), for lines the tool adds."""
    counts: dict[str, int] = {}
    for line in lines:
        ending = line_ending(line)
        if ending:
            counts[ending] = counts.get(ending, 0) + 1
    if not counts:
        return "\n"
    return max(counts, key=lambda e: (counts[e], e == "\n"))


def is_blank(line: str) -> bool:
    return not line.strip(" \t\r\n\ufeff")


def normal_path(written: str) -> str:
    """A path as written in a tracking file, in the form :func:`same_path` compares."""
    return os.path.normpath(written.strip().strip("`<>"))


def same_path(written: object, wanted: str) -> bool:
    """Whether a path as written in a tracking file is ``wanted`` (both relative to that file)."""
    if not isinstance(written, str) or not written.strip():
        return False
    return normal_path(written) == os.path.normpath(wanted)
