"""The ``## Run Notes`` section: the one part of the plan the tool writes prose into (pure).

The template's RECORD step ends with "note any issues found". The notes live in
a section the tool owns, one line per row still pending and why::

    - Phase 1, row 3 (backpressure.md): category 'Consistent' is not one of ...

One note outlives its row's completion: a complete row whose output the
local simulator wrote keeps a note starting with :data:`SIMULATED_NOTE`
(a rehearsal must never be mistaken for real work); it goes when the row is
completed for real or is no longer complete.

The section runs from its heading to the next ``#``/``##`` heading (or the
end of the file); it is created at the end of the plan the first time there
is something to note and removed again once nothing is left, so a run that
completes every row leaves no trace of it. Lines in the section that are not
note items are kept, above the items. Everything outside the section is
never touched.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from orchestrator.recorder.text import body, dominant_ending, is_blank, split_lines

HEADING = "Run Notes"
#: how the note of a complete row whose output is the simulator's starts
SIMULATED_NOTE = "SIMULATED output (--provider sim)"
#: (phase, row ``#``) -> (filename, reason)
Notes = dict[tuple[int, str], tuple[str, str]]

_ITEM_RE = re.compile(r"^[-*+] Phase (\d+), row (.+?) \((.*?)\): (.*)$")
_ATX_RE = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_FENCE_RE = re.compile(r"^ {0,3}(`{3,}|~{3,})")


@dataclass(frozen=True)
class _Section:
    start: int  # heading line index
    end: int  # first line after the section


def format_note(key: tuple[int, str], filename: str, reason: str) -> str:
    """One note item (without line ending); the reason is folded onto one line."""
    return f"- Phase {key[0]}, row {key[1]} ({filename}): {' '.join(reason.split())}"


def read_notes(text: str) -> Notes:
    """The notes currently in the plan's Run Notes section."""
    lines = split_lines(text)
    section = find_section(lines)
    if section is None:
        return {}
    return _parse_items(lines[section.start + 1 : section.end])[0]


def set_run_notes(
    text: str,
    notes: Mapping[tuple[int, str], tuple[str, str | None]],
    complete: Collection[tuple[int, str]] = (),
) -> str:
    """Merge ``notes`` (a ``None`` reason clears the row's note) into the section.

    Notes of rows in ``complete`` drop out (except :data:`SIMULATED_NOTE`, which
    only such rows keep). Returns ``text`` itself when
    nothing changes.
    """
    lines = split_lines(text)
    section = find_section(lines)
    old_lines = lines[section.start + 1 : section.end] if section else []
    current, others = _parse_items(old_lines)
    merged = dict(current)
    for key, (filename, reason) in notes.items():
        if reason is None:
            merged.pop(key, None)
        else:
            merged[key] = (filename, " ".join(reason.split()))
    for key in list(merged):  # complete rows have no note, except a simulated output's, kept while complete
        if (key in complete) != merged[key][1].startswith(SIMULATED_NOTE):
            merged.pop(key)
    if merged == current:
        return text
    eol = dominant_ending(lines)
    if section is None:
        return _append_section(lines, merged, eol)
    if not merged and not others:
        return _remove_section(lines, section)
    new_body = [eol, *others, *(_item_lines(merged, eol))]
    if section.end < len(lines):
        new_body.append(eol)
    return "".join([*lines[: section.start + 1], *new_body, *lines[section.end :]])


def _item_lines(notes: Notes, eol: str) -> list[str]:
    ordered = sorted(notes.items(), key=lambda kv: (kv[0][0], _natural(kv[0][1])))
    return [format_note(key, filename, reason) + eol for key, (filename, reason) in ordered]


def _natural(row_id: str) -> tuple[tuple[int, str], ...]:
    return tuple((int(p), "") if p.isdigit() else (0, p) for p in re.split(r"(\d+)", row_id) if p)


def _parse_items(lines: list[str]) -> tuple[Notes, list[str]]:
    """Note items of the section body, and its other non-blank lines (as written)."""
    items: Notes = {}
    others: list[str] = []
    for line in lines:
        match = _ITEM_RE.match(body(line))
        if match:
            key = (int(match.group(1)), match.group(2))
            items[key] = (match.group(3), match.group(4))
        elif not is_blank(line):
            others.append(line)
    return items, others


def _append_section(lines: list[str], notes: Notes, eol: str) -> str:
    out = list(lines)
    if out and not out[-1].endswith(("\n", "\r")):
        out[-1] += eol
    if out and not is_blank(out[-1]):
        out.append(eol)
    out += [f"## {HEADING}{eol}", eol, *_item_lines(notes, eol)]
    return "".join(out)


def _remove_section(lines: list[str], section: _Section) -> str:
    """Drop the section; at the end of the file also the blank line that led to it."""
    start = section.start
    if section.end == len(lines) and start > 0 and is_blank(lines[start - 1]):
        start -= 1
    return "".join(lines[:start] + lines[section.end :])


def find_section(lines: list[str]) -> _Section | None:
    """The first level-2 ``Run Notes`` heading outside code fences, and where its section ends."""
    start: int | None = None
    for index, level, title in _headings(lines):
        if start is None:
            if level == 2 and _is_notes_heading(title):
                start = index
        elif level <= 2:
            return _Section(start, index)
    return None if start is None else _Section(start, len(lines))


def _is_notes_heading(title: str) -> bool:
    return " ".join(title.strip().rstrip(":").split()).lower() == HEADING.lower()


def _closes(fence: str, marker: str, content: str) -> bool:
    """Whether ``content`` (starting with ``marker``) closes a block opened by ``fence``."""
    same_kind = marker[0] == fence[0] and len(marker) >= len(fence)
    return same_kind and not content.strip()[len(marker) :].strip()


def _headings(lines: list[str]) -> list[tuple[int, int, str]]:
    """ATX headings as (line index, level, text), skipping fenced code blocks."""
    found: list[tuple[int, int, str]] = []
    fence: str | None = None
    for index, line in enumerate(lines):
        content = body(line).lstrip("\ufeff") if index == 0 else body(line)
        opener = _FENCE_RE.match(content)
        if fence is not None:
            if opener and _closes(fence, opener.group(1), content):
                fence = None
            continue
        if opener:
            fence = opener.group(1)
            continue
        heading = _ATX_RE.match(content)
        if heading:
            found.append((index, len(heading.group(1)), heading.group(2) or ""))
    return found
