"""Model Selection Rules in ``orchestrate check``: contradicting rows (warnings) and lines not compiled (notes).

Neither is a problem: ``check`` still exits 0. A person may have chosen a
row's model on purpose, and a rule line that is not compiled only means the
rules cannot choose for the rows it may govern.
"""

from __future__ import annotations

from orchestrator.errors import Problem
from orchestrator.models import ModelTable
from orchestrator.plan.model import Plan
from orchestrator.plan.model_rules import compile_model_rules


def model_rule_warnings(plan: Plan, models: ModelTable) -> list[Problem]:
    """Rows whose Model contradicts a compiled Model Selection Rule.

    Warnings, not problems: a person may have chosen a row's model on
    purpose. Only a certain choice counts: a row that a line not (fully)
    compiled may govern is never warned about.
    """
    rules = compile_model_rules(plan.model_rules, models)
    if not rules.rules:
        return []
    found: list[Problem] = []
    for row in plan.rows():
        choice = rules.choose(row.title, row.cells)
        wanted = models.get(choice.model) if choice.certain and choice.model else None
        have = models.get(row.model) if row.model else None
        if wanted is None or have is None or wanted.id == have.id:
            continue
        message = f"row #{row.id} uses {row.model}, but the Model Selection Rules choose {choice.model}: "
        hint = f"keep it if that is on purpose (a warning only); otherwise set its Model to {choice.model}"
        found.append(Problem(plan.path, row.line, message + choice.describe(), hint))
    return found


def model_rule_notes(plan: Plan, models: ModelTable) -> list[Problem]:
    """Model Selection Rules lines that were not compiled, with the reason (notes, not problems)."""
    rules = compile_model_rules(plan.model_rules, models)
    notes = [Problem(plan.path, u.item.line, f"model rule not compiled: {u.item.text}", u.reason)
             for u in rules.uncompiled]
    notes += [Problem(plan.path, r.item.line, f"model rule only partly compiled: {r.item.text}",
                      "not understood: " + ", ".join(repr(u) for u in r.unread)) for r in rules.conditions if r.unread]
    return sorted(notes, key=lambda p: p.line or 0)
