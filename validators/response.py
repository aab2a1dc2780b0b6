"""PARSE: turn a model's raw reply into the file's content, and say what was removed.

Models often wrap the file in a ```` ```markdown ```` fence or add a sentence
before or after it. :func:`extract_document` removes exactly one wrapping
fence, text before the front matter, and text after the closing fence or a
closing pleasantry, and reports each removal in ``notes``. It only ever cuts
whole lines from the edges: it never adds or rewrites content, and when it
cannot tell where the document starts it leaves the reply as it is, for the
validators to reject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml
from orchestrator.validators.fmparse import compose

_OPEN_FENCE_RE = re.compile(r"^\s{0,3}(?P<fence>`{3,}|~{3,})\s*(?P<info>[\w+-]*)\s*$")
_DOC_INFOS = {"", "markdown", "md", "mdx", "yaml", "yml", "text", "txt", "gfm"}
_HEADING_RE = re.compile(r"^\s{0,3}#{1,6}\s")
_CHATTER_RE = re.compile(
    r"^\s*(?:let me know|i hope|hope this|feel free|is there anything|would you like|"
    r"if you(?:'d| would) like|i can also|happy to|"
    r"this (?:file|document|entry|card|output) (?:follows|covers|uses|includes))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Extracted:
    """The file content found in a reply, and one note per thing removed."""

    content: str
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.notes)


def _quote(lines: list[str]) -> str:
    text = " ".join(line.strip() for line in lines if line.strip())
    return text if len(text) <= 60 else text[:59] + "…"


def extract_document(raw: str) -> Extracted:
    """The document inside ``raw``: unwrapped from one fence, chatter around it removed."""
    newline = "\r\n" if "\r\n" in raw else "\n"
    lines = raw.replace("\r\n", "\n").split("\n")
    notes: list[str] = []
    lines = _unfence(lines, notes)
    lines = _drop_preamble(lines, notes)
    lines = _drop_closing_chatter(lines, notes)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines:
        return Extracted("", [*notes, "the reply contains no document"])
    return Extracted(newline.join(lines) + newline, notes)


def _front_matter_start(lines: list[str]) -> int | None:
    """Index of a ``---`` line opening a block that parses as a YAML mapping."""
    for start, line in enumerate(lines):
        if line.rstrip() != "---":
            continue
        end = next((i for i in range(start + 1, len(lines)) if lines[i].rstrip() in ("---", "...")), None)
        if end is None:
            return None
        try:
            node = compose("\n".join(lines[start + 1 : end]) + "\n")  # as read_front_matter composes it
        except yaml.YAMLError:
            node = None
        if isinstance(node, yaml.MappingNode):
            return start
    return None


def wrapping_fence(lines: list[str]) -> int | None:
    """Index of a fence line opening before the document and holding it (front matter, heading)."""
    found = _find_opener(lines)
    if found is None:
        return None
    inside = lines[found[0] + 1 :]
    holds_document = any(line.rstrip() == "---" or _HEADING_RE.match(line) for line in inside)
    return found[0] if holds_document else None


def _find_opener(lines: list[str]) -> tuple[int, re.Match[str]] | None:
    """The first fence line, if it comes before anything that starts a document."""
    for index, line in enumerate(lines):
        if line.rstrip() == "---" or _HEADING_RE.match(line):
            return None  # the document starts before any fence: inner fences are content
        match = _OPEN_FENCE_RE.match(line)
        if match:
            return index, match
    return None


def _is_closer(line: str, fence: str) -> bool:
    text = line.strip()
    return len(text) >= len(fence) and set(text) == {fence[0]}


def _unfence(lines: list[str], notes: list[str]) -> list[str]:
    """Remove one fence wrapping the document, with any text outside it."""
    found = _find_opener(lines)
    if found is None or found[1].group("info").lower() not in _DOC_INFOS:
        return lines
    opener, match = found
    fence = match.group("fence")
    close = next((j for j in range(len(lines) - 1, opener, -1) if _is_closer(lines[j], fence)), None)
    before = lines[:opener]
    after = lines[close + 1 :] if close is not None else []
    if any(_HEADING_RE.match(line) or line.rstrip() == "---" for line in after):
        return lines  # the fence holds only part of the document (```yaml around the front matter)
    if any(line.strip() for line in before):
        notes.append(f"removed text before the code fence: '{_quote(before)}'")
    notes.append(
        f"removed the wrapping code fence '{lines[opener].strip()}'"
        + ("" if close is not None else " (it was never closed)")
    )
    if any(line.strip() for line in after):
        notes.append(f"removed text after the code fence: '{_quote(after)}'")
    return lines[opener + 1 : close if close is not None else len(lines)]


def _drop_preamble(lines: list[str], notes: list[str]) -> list[str]:
    """Remove text above the front matter, unless that text looks like part of the document."""
    start = _front_matter_start(lines)
    if not start:
        return lines
    before = lines[:start]
    if any(_HEADING_RE.match(line) or _OPEN_FENCE_RE.match(line) for line in before):
        return lines
    if any(line.strip() for line in before):
        notes.append(f"removed text before the front matter: '{_quote(before)}'")
    else:
        notes.append(f"removed {start} blank line(s) before the front matter")
    return lines[start:]


def _drop_closing_chatter(lines: list[str], notes: list[str]) -> list[str]:
    """Remove a last paragraph that is a pleasantry addressed to the user."""
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    start = end
    while start and lines[start - 1].strip():
        start -= 1
    if start == 0 or end == 0 or not _CHATTER_RE.match(lines[start]):
        return lines
    notes.append(f"removed text after the document: '{_quote(lines[start:end])}'")
    return lines[:start]
