"""Compile a plan's Content Rules and Validation Checklist, line by line.

Every line ends up in exactly one of two places: compiled into named checks,
or listed as not machine-checked with the reason. Content Rules are compiled
first so that a checklist line such as "category is one of the four values
listed in Content Rules" can point back at them.
"""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.validators.expectations import CHECKLIST, CONTENT_RULES, Expectation, Expectations
from orchestrator.validators.reference import ReferenceFacts
from orchestrator.validators.registry import Compiled, NotCheckable, Registry, RuleScope

from orchestrator.plan.model import Plan, TextLine

NO_PHRASING = "no known phrasing matches this line (see docs/validation.md for the phrasings understood)"


@dataclass(frozen=True)
class RuleReport:
    """One plan line and what it became: check names, or why it is not machine-checked."""

    section: str  # "content rules", "validation checklist" or "format reference"
    item: TextLine
    checks: tuple[str, ...] | None
    reason: str | None = None
    expectations: tuple[Expectation, ...] = ()
    note: str = ""

    @property
    def checked(self) -> bool:
        return self.checks is not None

    @property
    def text(self) -> str:
        return self.item.text

    @property
    def line(self) -> int:
        return self.item.line

    def as_dict(self) -> dict[str, object]:
        return {
            "section": self.section,
            "line": self.item.line,
            "text": self.item.text,
            "checks": list(self.checks) if self.checks is not None else None,
            "expects": [e.describe() for e in self.expectations],
            "reason": self.reason,
            "note": self.note or None,
        }


def compile_rules(
    plan: Plan, reference: ReferenceFacts, registry: Registry, expectations: Expectations
) -> list[RuleReport]:
    """Compile every rule and checklist line, adding what they expect to ``expectations``."""
    reports: list[RuleReport] = []
    for section, items in ((CONTENT_RULES, plan.content_rules), (CHECKLIST, plan.checklist)):
        compiled_here = Expectations()
        for item in items:
            scope = RuleScope(section, item.line, item.text, reference, _so_far(expectations, compiled_here), plan)
            report = _compile_line(section, item, scope, registry)
            compiled_here.add(*report.expectations)
            reports.append(report)
        expectations.add(*compiled_here)
    return reports


def _so_far(derived: Expectations, compiled: Expectations) -> Expectations:
    return Expectations([*derived, *compiled])


def _compile_line(section: str, item: TextLine, scope: RuleScope, registry: Registry) -> RuleReport:
    """The first phrasing that compiles the line wins; otherwise the first reason given."""
    refusal: NotCheckable | None = None
    for phrasing in registry.phrasings:
        result = phrasing.compile(item.text, scope)
        if isinstance(result, Compiled) and result.expectations:
            names = _check_names(result.expectations, registry)
            if names:
                return RuleReport(section, item, names, None, result.expectations, result.note)
            refusal = refusal or NotCheckable(f"understood by '{phrasing.name}', but no installed check consumes it")
        elif isinstance(result, NotCheckable) and refusal is None:
            refusal = result
    reason = refusal.reason if refusal else NO_PHRASING
    return RuleReport(section, item, None, reason)


def _check_names(expectations: tuple[Expectation, ...], registry: Registry) -> tuple[str, ...]:
    names: list[str] = []
    for expectation in expectations:
        names.extend(n for n in registry.checks_for(expectation) if n not in names)
    return tuple(names)
