"""``check``: the format reference must pass the checks its own plan compiles.

Every output is validated against the plan's rules; the reference is the
hand-written example every output copies. A reference that fails them (a
misspelled required key, a value the plan does not allow, a missing section)
would make every output fail the same way after it was paid for, so ``check``
reports each failure at the reference's own file and line, before any money.

Checks that can only hold once an output is recorded (``tracking.registered``)
and the plan's lint command (never run by ``check``: it runs only for a trusted
plan, during a run) are left out.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from orchestrator.errors import OrchestratorError, PlanError, Problem
from orchestrator.models import ModelTable
from orchestrator.plan.model import Plan

if TYPE_CHECKING:
    from orchestrator.validators.rules import RuleReport

#: checks never run against the reference, and why
NOT_ON_REFERENCE = {
    "tracking.registered": "holds only after an output is recorded",
    "lint.command": "runs a command: only for a trusted plan, during a run",
}


def check_reference_rules(plan: Plan, _models: ModelTable) -> Iterator[Problem]:
    """Each compiled check the reference fails, at the reference's file:line."""
    from orchestrator.validators.compiled import CompiledPlan
    from orchestrator.validators.reference import read_reference
    from orchestrator.validators.registry import load_registry

    if plan.format_reference_path() is None:
        return
    try:
        reference = read_reference(plan)
    except PlanError:
        return  # missing or unreadable: check_paths reports it
    try:
        compiled = CompiledPlan(plan, reference, load_registry(), trust_plan=False)
    except OrchestratorError as exc:
        yield Problem(exc.path or plan.path, exc.line, exc.message, exc.hint or "")
        return
    report = compiled.validate_text(reference.doc.source, path=reference.path)
    for failure in report.failures:
        if failure.name in NOT_ON_REFERENCE:
            continue
        yield Problem(
            reference.path,
            failure.line or 1,
            f"the format reference fails its plan's check [{failure.name}]: {failure.message}",
            _hint(plan, compiled.rules, failure.name),
        )


def _hint(plan: Plan, rules: Sequence[RuleReport], check: str) -> str:
    """Name the plan lines whose rules compile to ``check``: fix one side or the other."""
    from orchestrator.validators.expectations import REFERENCE

    lines = [str(rule.line) for rule in rules if rule.section != REFERENCE and check in (rule.checks or ())]
    every = "every output must pass this check, so the example it copies must too"
    if not lines:
        return f"{every}: fix the reference (`orchestrate explain {plan.path.name}` lists the checks)"
    where = ", ".join(f"{plan.path.name}:{line}" for line in lines)
    return f"{every}: fix the reference, or the rule at {where}"
