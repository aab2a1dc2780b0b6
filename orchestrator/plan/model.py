"""The plan as data: sections, phases, rows, each with its source line.

Objects here are immutable snapshots of one reading of the plan file. Line
numbers are 1-based, as an editor shows them and as ``file:line`` messages
print them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

#: Statuses the tool understands. ``pending`` and ``complete`` are the ones it
#: writes; ``skipped`` is a user's way to park a row, which the tool leaves alone.
DISPATCHABLE = "pending"
COMPLETE = "complete"
KNOWN_STATUSES = ("pending", "complete", "skipped")

#: Required row columns, keyed by their normalised header name.
REQUIRED_COLUMNS = ("#", "title", "filename", "model", "status")

#: Canonical section keys and whether a plan must have them.
SECTION_KEYS = {
    "format reference": True,
    "output directory": True,
    "content rules": True,
    "validation checklist": True,
    "model selection rules": False,
    "tracking file": False,
}


_REGISTERED_RE = re.compile(r"registered in\s+(\S+)", re.IGNORECASE)


def source_lines(text: str) -> list[str]:
    """Split plan text into lines the way markdown-it numbers them: BOM dropped, CRLF/CR/LF all end a line."""
    body = text[1:] if text.startswith("\ufeff") else text
    return body.replace("\r\n", "\n").replace("\r", "\n").split("\n")


@dataclass(frozen=True)
class TextLine:
    """One meaningful line of a section (a list item or a paragraph line)."""

    text: str
    line: int


@dataclass(frozen=True)
class Section:
    """A ``##`` section found by its heading text."""

    key: str  # normalised heading, e.g. "content rules" or "phase 1"
    heading: str  # as written
    line: int  # the heading's line
    end_line: int  # last line of the section (inclusive)
    items: tuple[TextLine, ...]  # list items, or non-empty paragraph lines

    @property
    def value(self) -> str | None:
        """The first item's text: the single value of sections like Output Directory."""
        return self.items[0].text if self.items else None


@dataclass(frozen=True)
class Row:
    """One task row of a phase table."""

    phase: int
    id: str
    title: str
    filename: str
    model: str
    status: str  # lower-cased
    status_text: str  # as written in the file
    line: int
    cells: dict[str, str] = field(default_factory=dict)  # every column by header as written

    @property
    def is_pending(self) -> bool:
        return self.status == DISPATCHABLE


@dataclass(frozen=True)
class Table:
    """A phase's table: its header, the columns, and where it sits."""

    header_line: int
    end_line: int  # last row line (inclusive)
    columns: tuple[str, ...]  # headers as written
    missing_columns: tuple[str, ...]  # required columns it lacks (normalised names)


@dataclass(frozen=True)
class Phase:
    number: int
    heading_line: int
    table: Table | None
    rows: tuple[Row, ...]

    @property
    def pending(self) -> tuple[Row, ...]:
        return tuple(r for r in self.rows if r.is_pending)

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.rows:
            out[row.status] = out.get(row.status, 0) + 1
        return out


@dataclass(frozen=True)
class Plan:
    """A parsed plan file. Paths inside it resolve against :attr:`base_dir`."""

    path: Path
    text: str
    title: str | None
    sections: dict[str, Section]
    phases: tuple[Phase, ...]
    duplicate_sections: tuple[Section, ...] = ()
    orphan_tables: tuple[int, ...] = ()  # lines of tables under no Phase heading

    @cached_property
    def lines(self) -> list[str]:
        """The plan's lines as the parser numbers them (BOM dropped, any line ending)."""
        return source_lines(self.text)

    def source_line(self, line: int) -> str:
        """Line ``line`` (1-based) as the parser saw it, or ``""`` past the end."""
        return self.lines[line - 1] if 0 < line <= len(self.lines) else ""

    @cached_property
    def base_dir(self) -> Path:
        """The folder the plan's paths are relative to: the *real* file's folder (resolved once).

        A plan reached through a symlink is read, written (by the recorder)
        and locked at its real path, so its relative paths resolve from there
        too, whichever command reads it.
        """
        return Path(os.path.realpath(self.path)).parent

    def section(self, key: str) -> Section | None:
        return self.sections.get(key)

    def _value(self, key: str) -> TextLine | None:
        section = self.sections.get(key)
        return section.items[0] if section and section.items else None

    @property
    def format_reference(self) -> TextLine | None:
        """The Format Reference path as written (relative to the plan's folder)."""
        return self._value("format reference")

    @property
    def output_directory(self) -> TextLine | None:
        return self._value("output directory")

    @property
    def tracking_file(self) -> TextLine | None:
        """The ``## Tracking File`` value, if the plan has that section."""
        return self._value("tracking file")

    @property
    def content_rules(self) -> tuple[TextLine, ...]:
        section = self.sections.get("content rules")
        return section.items if section else ()

    @property
    def checklist(self) -> tuple[TextLine, ...]:
        section = self.sections.get("validation checklist")
        return section.items if section else ()

    @property
    def model_rules(self) -> tuple[TextLine, ...]:
        section = self.sections.get("model selection rules")
        return section.items if section else ()

    def resolve(self, relative: str) -> Path:
        """A path written in the plan, resolved against the plan's folder.

        ``os.path.realpath`` rather than ``Path.resolve``: a symlink loop is
        left unresolved (the read then names it) instead of raising RuntimeError.
        """
        return Path(os.path.realpath(self.base_dir / relative))

    def format_reference_path(self) -> Path | None:
        ref = self.format_reference
        return self.resolve(ref.text) if ref else None

    def output_dir_path(self) -> Path | None:
        out = self.output_directory
        return self.resolve(out.text) if out else None

    def output_path(self, row: Row) -> Path:
        """Where a row's output goes. Callers must have run ``check`` for safety."""
        out = self.output_dir_path()
        if out is None:
            raise ValueError("plan has no Output Directory")
        return out / row.filename

    def tracking_file_text(self) -> TextLine | None:
        """Where outputs are registered, as the plan names it.

        A ``## Tracking File`` section wins; otherwise the checklist line
        "Output registered in FILE". ``None`` means the default applies.
        """
        if self.tracking_file is not None:
            return self.tracking_file
        for item in self.checklist:
            match = _REGISTERED_RE.search(item.text)
            if match and not match.group(1).startswith("<"):
                return TextLine(match.group(1).strip("`'\"").rstrip("."), item.line)
        return None

    def tracking_file_path(self) -> Path:
        """The tracking file's path; by default ``<plan stem>.tracking.yaml`` beside the plan."""
        named = self.tracking_file_text()
        if named is not None:
            return self.resolve(named.text)
        return self.base_dir / f"{self.path.stem}.tracking.yaml"

    def phase(self, number: int) -> Phase | None:
        for phase in self.phases:
            if phase.number == number:
                return phase
        return None

    def rows(self) -> Iterator[Row]:
        for phase in self.phases:
            yield from phase.rows

    def find_row(self, row_id: str, phase: int | None = None) -> Row | None:
        for row in self.rows():
            if row.id == row_id and (phase is None or row.phase == phase):
                return row
        return None


def item_key(row_id: str) -> str:
    """The name of a row's item in a batch (its checkpoint folder): ``item-0002`` for row 2, else a slug.

    Not injective (``2`` and ``02`` both give ``item-0002``): ``check`` refuses
    a plan with two rows of one key, so distinct rows never share a folder.
    """
    text = row_id.strip()
    if text.isdigit():
        return f"item-{int(text):04d}"
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.") or "row"
    return f"item-{slug}"
