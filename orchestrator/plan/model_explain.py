"""What each Model Selection Rules line became, for ``orchestrate explain`` (text and JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from orchestrator.models import load_model_table
from orchestrator.plan.model import Plan
from orchestrator.plan.model_rules import ModelRule, UncompiledRule, compile_model_rules


@dataclass(frozen=True)
class ModelRuleLine:
    """One line of the section: the rule it compiled into, or why it did not."""

    line: int
    text: str
    rule: ModelRule | None
    reason: str | None = None

    def as_dict(self) -> dict[str, object]:
        rule = self.rule
        return {
            "line": self.line,
            "text": self.text,
            "compiled": rule is not None,
            "kind": None if rule is None else ("default" if rule.is_default else "condition"),
            "name": rule.name if rule else None,
            "model": rule.model if rule else None,
            "signals": [{"name": s.name, "from": s.said, "looks_for": s.looks_for} for s in rule.signals]
            if rule else [],
            "not_understood": list(rule.unread) if rule else [],
            "reason": self.reason,
        }


def model_rule_lines(plan: Plan) -> list[ModelRuleLine]:
    """Every Model Selection Rules line of ``plan``, in order, compiled against its model table."""
    rules = compile_model_rules(plan.model_rules, load_model_table(plan.base_dir))
    return [_line(entry) for entry in rules.lines()]


def _line(entry: ModelRule | UncompiledRule) -> ModelRuleLine:
    if isinstance(entry, UncompiledRule):
        return ModelRuleLine(entry.item.line, entry.item.text, None, entry.reason)
    return ModelRuleLine(entry.item.line, entry.item.text, entry)


def explain_model_rules(lines: list[ModelRuleLine]) -> list[str]:
    """The explain section, one block per line."""
    compiled = sum(1 for line in lines if line.rule is not None)
    out = ["", f"Model Selection Rules ({len(lines)} line(s): {compiled} compiled, "
               f"{len(lines) - compiled} not compiled; `orchestrate add` chooses models by them)"]
    if not lines:
        out.append("  (none: `orchestrate add` needs --model, or add `- Default: haiku for ...`)")
    for line in lines:
        out.append(f"  {line.line:>4}  {line.text}")
        rule = line.rule
        if rule is None:
            out.append(f"        NOT compiled: {line.reason}")
            continue
        if rule.is_default:
            out.append(f"        -> default: {rule.model} for every row no other rule chooses")
            continue
        out.append(f'        -> rule "{rule.name}": {rule.model} when any of')
        out += [f"           {s.name} ('{s.said}'): {s.looks_for}" for s in rule.signals]
        if rule.unread:
            unread = ", ".join(repr(u) for u in rule.unread)
            out.append(f"           not understood: {unread} (rows it may govern get the default, with a note)")
    return out
