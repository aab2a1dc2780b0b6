"""What a plan expects of every output, as data the checks consume.

Expectations come from two places: the format reference itself (its front
matter keys and their shapes, its ``##`` headings in order, blank lines before
its tables) and the plan's Content Rules and Validation Checklist, compiled by
:mod:`.rules`. Each carries its :class:`Source` so a failure and
``orchestrate explain`` can say where a requirement came from. Third-party
validators may define their own :class:`Expectation` subclasses.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

REFERENCE = "format reference"
CONTENT_RULES = "content rules"
CHECKLIST = "validation checklist"


@dataclass(frozen=True)
class Source:
    """Where an expectation was stated: a plan line, or the format reference."""

    section: str  # CONTENT_RULES, CHECKLIST or REFERENCE
    line: int | None
    text: str

    def describe(self) -> str:
        if self.section == REFERENCE:
            return "the format reference"
        where = "Content Rules" if self.section == CONTENT_RULES else "Validation Checklist"
        return f"{where} (plan line {self.line})"


@dataclass(frozen=True)
class Expectation:
    """Base of every expectation; subclasses add their own fields."""

    source: Source

    def describe(self) -> str:
        return type(self).__name__


@dataclass(frozen=True)
class FrontMatterRequired(Expectation):
    def describe(self) -> str:
        return "front matter present"


@dataclass(frozen=True)
class RequiredKeys(Expectation):
    keys: tuple[str, ...] = ()
    may_be_empty: tuple[str, ...] = ()  # keys the reference itself leaves empty

    def describe(self) -> str:
        return f"front matter keys: {', '.join(self.keys)}"


@dataclass(frozen=True)
class KeyKinds(Expectation):
    """Value shapes (``list``/``scalar``/``mapping``) as the format reference writes them."""

    kinds: tuple[tuple[str, str], ...] = ()

    def describe(self) -> str:
        return "value shapes: " + ", ".join(f"{k} is a {v}" for k, v in self.kinds)


@dataclass(frozen=True)
class AllowedValues(Expectation):
    key: str = ""
    values: tuple[str, ...] = ()

    def describe(self) -> str:
        return f"{self.key} is one of: {', '.join(self.values)}"


@dataclass(frozen=True)
class MinItems(Expectation):
    key: str = ""
    count: int = 0

    def describe(self) -> str:
        return f"{self.key} lists at least {self.count} item(s)"


@dataclass(frozen=True)
class RequiredSections(Expectation):
    names: tuple[str, ...] = ()
    ordered: bool = False
    level: int = 2

    def describe(self) -> str:
        order = ", in that order" if self.ordered else ""
        return f"sections {', '.join(self.names)}{order}"


@dataclass(frozen=True)
class TableBlankBefore(Expectation):
    def describe(self) -> str:
        return "a blank line before every table"


@dataclass(frozen=True)
class TableBlankAfter(Expectation):
    def describe(self) -> str:
        return "a blank line after every table"


@dataclass(frozen=True)
class PlainDocument(Expectation):
    """The file is the document itself, not wrapped in a code fence (as the reference is)."""

    def describe(self) -> str:
        return "the file is not wrapped in a code fence"


@dataclass(frozen=True)
class LintCommand(Expectation):
    command: str = ""  # as written, with its placeholder
    argv: tuple[str, ...] = ()  # shlex-split, placeholder still in place
    placeholder: str = "<filepath>"

    def describe(self) -> str:
        return f"linter passes: {self.command}"


@dataclass(frozen=True)
class Registered(Expectation):
    tracking_file: Path = field(default_factory=Path)
    named_as: str = ""

    def describe(self) -> str:
        return f"output registered in {self.named_as or self.tracking_file}"


E = TypeVar("E", bound=Expectation)


@dataclass
class Expectations:
    """Every expectation of a compiled plan, in the order they were found."""

    items: list[Expectation] = field(default_factory=list)

    def add(self, *found: Expectation) -> None:
        self.items.extend(found)

    def of(self, kind: type[E]) -> list[E]:
        return [item for item in self.items if isinstance(item, kind)]

    def has(self, *kinds: type[Expectation]) -> bool:
        return any(isinstance(item, kinds) for item in self.items)

    def __iter__(self) -> Iterator[Expectation]:
        return iter(self.items)
