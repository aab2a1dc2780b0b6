"""Expectations read from the format reference itself.

The reference is a finished, hand-written output: every output must have its
front matter keys (with the same value shapes), its ``##`` headings in the
same order, the blank line it leaves before its tables, and no wrapping code
fence. A plan needs no configuration for any of this.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from pathlib import Path

from orchestrator.validators.document import Document, heading_key, is_separated, parse_document
from orchestrator.validators.expectations import (
    REFERENCE,
    Expectation,
    FrontMatterRequired,
    KeyKinds,
    PlainDocument,
    RequiredKeys,
    RequiredSections,
    Source,
    TableBlankBefore,
)
from orchestrator.validators.fmparse import FMStatus

from orchestrator import safeio
from orchestrator.errors import InputFileError, PlanError
from orchestrator.plan.model import Plan


@dataclass(frozen=True)
class ReferenceFacts:
    """The parsed format reference, and what phrasings may look up in it."""

    path: Path
    doc: Document

    @property
    def text(self) -> str:
        """The reference exactly as read: the text a request quotes."""
        return self.doc.source

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(self.doc.front_matter.entries)

    @property
    def headings(self) -> tuple[str, ...]:
        return tuple(h.text for h in self.doc.sections())

    def heading_spelling(self, name: str) -> str:
        """The reference's own spelling of a heading named ``name``, else ``name``."""
        return next((h for h in self.headings if heading_key(h) == heading_key(name)), name)


def read_reference(plan: Plan) -> ReferenceFacts:
    """Read and parse the plan's format reference once; :class:`PlanError` if unusable.

    A :class:`Plan` is one reading of the plan file, and its reference is read
    once per reading: ``check``'s path checks, the compiled validators and the
    request text all see the same bytes, bounded by
    :data:`orchestrator.safeio.REFERENCE`'s size limit. A refusal is not
    remembered, so a fixed file is read again.
    """
    known = _READ.get(id(plan))
    if known is not None and known[0]() is plan:
        return known[1]
    facts = _read_reference(plan)
    key = id(plan)
    _READ[key] = (weakref.ref(plan, lambda _: _READ.pop(key, None)), facts)
    return facts


#: id(plan) -> (the plan, weakly; its reference). An entry leaves with its plan.
_READ: dict[int, tuple[weakref.ref[Plan], ReferenceFacts]] = {}


def _read_reference(plan: Plan) -> ReferenceFacts:
    path = plan.format_reference_path()
    if path is None:
        raise PlanError(
            "the plan names no Format Reference",
            path=plan.path,
            line=1,
            hint="add `## Format Reference` followed by the path of a hand-written output",
        )
    try:
        text = safeio.read_bytes(path, safeio.REFERENCE).decode("utf-8")
    except FileNotFoundError:
        raise _reference_error(
            plan,
            f"format reference not found: {path}",
            "write the reference output first, or fix the path (relative to the plan)",
        ) from None
    except IsADirectoryError:
        raise _reference_error(plan, f"format reference is a folder, not a file: {path}",
                               "point `## Format Reference` at the hand-written example's markdown file") from None
    except InputFileError as exc:
        raise _reference_error(plan, f"{exc.message}: {path}", exc.hint) from None
    except OSError as exc:
        raise _reference_error(plan, f"cannot read format reference {path}: {exc.strerror}",
                               "check the path and the file's permissions") from None
    except UnicodeDecodeError:
        raise _reference_error(plan, f"format reference is not valid UTF-8: {path}", "save the file as UTF-8") from None
    facts = ReferenceFacts(path, parse_document(text))
    _require_usable_front_matter(facts)
    return facts


def _reference_error(plan: Plan, message: str, hint: str | None = None) -> PlanError:
    """An error located at the plan's Format Reference line."""
    line = plan.format_reference.line if plan.format_reference else None
    return PlanError(message, path=plan.path, line=line, hint=hint)


def _require_usable_front_matter(facts: ReferenceFacts) -> None:
    front = facts.doc.front_matter
    if front.status in (FMStatus.OK, FMStatus.MISSING):
        return
    raise PlanError(
        f"the format reference's front matter is unusable: {front.message}",
        path=facts.path,
        line=front.line,
        hint="the reference is the model every output copies: fix it first",
    )


def derive(facts: ReferenceFacts) -> list[Expectation]:
    """Expectations every output inherits from the reference, each with its source line."""
    doc = facts.doc
    found: list[Expectation] = [PlainDocument(Source(REFERENCE, 1, "the reference is not fenced"))]
    entries = doc.front_matter.entries
    if doc.front_matter.ok and entries:
        keys = tuple(entries)
        empty = tuple(key for key, entry in entries.items() if entry.value in ("", [], {}))
        found.append(FrontMatterRequired(Source(REFERENCE, 1, "front matter block")))
        source = Source(REFERENCE, 1, f"front matter keys: {', '.join(keys)}")
        found.append(RequiredKeys(source, keys, may_be_empty=empty))
        kinds = tuple((key, entry.kind) for key, entry in entries.items() if key not in empty)
        found.append(KeyKinds(Source(REFERENCE, 1, "value shapes of the front matter"), kinds))
    headings = doc.sections()
    if headings:
        names = tuple(h.text for h in headings)
        text = f"## headings in order: {', '.join(names)}"
        found.append(RequiredSections(Source(REFERENCE, headings[0].line, text), names, ordered=True))
    if all(is_separated(t.line_before) for t in doc.tables):
        first = doc.tables[0].first_line if doc.tables else None
        found.append(TableBlankBefore(Source(REFERENCE, first, "its tables follow a blank line")))
    return found
