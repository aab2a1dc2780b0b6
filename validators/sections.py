"""Section checks: required ``##`` headings present, and in the required order.

Headings are compared ignoring case, spacing, emphasis and a trailing colon.
Extra sections and ``###`` sub-headings anywhere are fine; only the relative
order of the required ones matters.
"""

from __future__ import annotations

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
        results = [
            self._missing(doc, name, level, all_names)
            for name, level in wanted.values()
            if _first(doc, name, level) is None
        ]
        return results or [passed(self.name, f"sections present: {all_names}")]

    def _missing(self, doc: Document, name: str, level: int, all_names: str) -> CheckResult:
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
        return failed(self.name, f"section '{marks} {name}' is missing (required sections: {all_names})")


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
