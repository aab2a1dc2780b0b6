"""Section checks: required ``##`` headings present, and in the required order.

Headings are compared ignoring case, spacing, emphasis and a trailing colon.
Extra sections and ``###`` sub-headings anywhere are fine; only the relative
order of the required ones matters.
"""

from __future__ import annotations

import re

from orchestrator.validators.document import Document, Heading, heading_key
from orchestrator.validators.expectations import Expectation, Expectations, RequiredSections
from orchestrator.validators.registry import BaseValidator, CheckContext
from orchestrator.validators.results import CheckResult, failed, passed


def _marks(level: int) -> str:
    return "#" * level


def _first(doc: Document, name: str, level: int) -> Heading | None:
    key = heading_key(name)
    return next((h for h in doc.sections(level) if h.key == key), None)


class SectionsPresent(BaseValidator):
    """Every required section heading exists, at the required level."""

    name = "sections.present"
    consumes = (RequiredSections,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        wanted: dict[str, tuple[str, int]] = {}
        for rule in ctx.expectations.of(RequiredSections):
            for name in rule.names:
                wanted.setdefault(heading_key(name), (name, rule.level))
        all_names = ", ".join(name for name, _ in wanted.values())
        names = [name for name, _ in wanted.values()]
        results = [
            self._missing(doc, name, level, names)
            for name, level in wanted.values()
            if _first(doc, name, level) is None
        ]
        return results or [passed(self.name, f"sections present: {all_names}")]

    def _missing(self, doc: Document, name: str, level: int, names: list[str]) -> CheckResult:
        marks = _marks(level)
        elsewhere = next((h for h in doc.headings if h.key == heading_key(name)), None)
        if elsewhere is not None:
            return failed(
                self.name,
                f"section '{marks} {name}' is missing: line {elsewhere.line} has it as a "
                f"level-{elsewhere.level} heading '{_marks(elsewhere.level)} {elsewhere.text}'; "
                f"write it as '{marks} {name}'",
                elsewhere.line,
            )
        near = _near_miss(doc, name)
        if near is not None:
            line, why = near
            return failed(
                self.name,
                f"section '{marks} {name}' is missing: line {line} '{_clip(doc.lines[line - 1])}' {why}",
                line,
            )
        found = ", ".join(f"{h.text} (line {h.line})" for h in doc.sections(level)) or "none"
        return failed(
            self.name,
            f"section '{marks} {name}' is missing (required sections: {', '.join(names)}; "
            f"the file's {marks} sections: {found})",
            _expected_line(doc, name, level, names),
        )


_NO_SPACE_RE = re.compile(r"^ {0,3}#{1,6}(?=[^#\s])")
_HASHES_RE = re.compile(r"^\s*(?:>\s*)*(?:<!--\s*)?#{1,6}\s*(?P<text>.*?)\s*(?:#+\s*)?(?:-->)?\s*$")
_BOLD_RE = re.compile(r"^\s*(?:\*\*|__)(?P<text>.+?)(?:\*\*|__)\s*:?\s*$")


def _near_miss(doc: Document, name: str) -> tuple[int, str] | None:
    """A body line that was meant as the heading ``name`` but is not one, and why."""
    key = heading_key(name)
    for index in range(doc.body_start - 1, len(doc.lines)):
        text = doc.lines[index]
        line = index + 1
        if any(h.line == line for h in doc.headings):
            continue
        hashes = _HASHES_RE.match(text)
        if hashes and heading_key(hashes.group("text")) == key:
            if _NO_SPACE_RE.match(text):
                return line, "is not a heading: put a space after the #s"
            if "<!--" in text or _in_comment(doc, index):
                return line, "is inside an HTML comment, so it is not a heading"
            if text.startswith(("    ", "\t")):
                return line, "is indented 4 or more spaces, so it is code, not a heading"
            return line, "is inside a code block, so it is not a heading"
        bold = _BOLD_RE.match(text)
        if bold and heading_key(bold.group("text")) == key:
            return line, f"is bold text, not a heading; write it as '## {name}'"
    return None


def _in_comment(doc: Document, index: int) -> bool:
    before = "\n".join(doc.lines[doc.body_start - 1 : index])
    return before.rfind("<!--") > before.rfind("-->")


def _expected_line(doc: Document, name: str, level: int, names: list[str]) -> int:
    """Where a missing section belongs: the heading after the required section before it."""
    position = next((i for i, n in enumerate(names) if heading_key(n) == heading_key(name)), 0)
    previous = next(
        (h for n in reversed(names[:position]) if (h := _first(doc, n, level)) is not None),
        None,
    )
    after = [h for h in doc.sections(level) if previous is None or h.line > previous.line]
    if after:
        return after[0].line
    return len(doc.lines) if doc.lines else 1


def _clip(text: str, limit: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


class SectionsOrder(BaseValidator):
    """Required sections that are present appear in the required order."""

    name = "sections.order"
    consumes = (RequiredSections,)

    def applies(self, expectations: Expectations) -> bool:
        return any(rule.ordered for rule in expectations.of(RequiredSections))

    def covers(self, expectation: Expectation) -> bool:
        return isinstance(expectation, RequiredSections) and expectation.ordered

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        seen: set[tuple[str, ...]] = set()
        results: list[CheckResult] = []
        for rule in ctx.expectations.of(RequiredSections):
            key = tuple(heading_key(n) for n in rule.names)
            if rule.ordered and key not in seen:
                seen.add(key)
                results.append(self._one(doc, rule))
        return results

    def _one(self, doc: Document, rule: RequiredSections) -> CheckResult:
        repeated = _repeated(doc, rule)
        if repeated is not None:
            return repeated
        found = [(name, h) for name in rule.names if (h := _first(doc, name, rule.level)) is not None]
        actual = sorted(found, key=lambda pair: pair[1].line)
        expected = ", ".join(rule.names)
        if [n for n, _ in actual] == [n for n, _ in found]:
            return passed(self.name, f"sections in order: {expected}")
        misplaced = next(h for (n, h), (m, _) in zip(actual, found, strict=True) if n != m)
        order = ", ".join(f"{n} (line {h.line})" for n, h in actual)
        return failed(
            self.name,
            f"sections are out of order: found {order}; expected {expected}, in that order",
            misplaced.line,
        )


def _repeated(doc: Document, rule: RequiredSections) -> CheckResult | None:
    """A required section written more times than the rule names it: the order is then ambiguous."""
    for name in rule.names:
        key = heading_key(name)
        same = [h for h in doc.sections(rule.level) if h.key == key]
        wanted = sum(1 for n in rule.names if heading_key(n) == key)
        if len(same) > wanted:
            lines = ", ".join(str(h.line) for h in same)
            return failed(
                SectionsOrder.name,
                f"section '{_marks(rule.level)} {name}' appears {len(same)} times (lines {lines}); "
                f"expected it once, in the order {', '.join(rule.names)}",
                same[wanted].line,
            )
    return None
