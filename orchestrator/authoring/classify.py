"""``add --classify``: ask a cheap model to apply the rules that could not be compiled (pure part).

Only rows the compiled rules cannot decide are asked about (no condition
matched, and some line was not, or not fully, compiled). The request shows
the plan's Model Selection Rules and the row, and asks for a tiny document
in a fixed shape, the same way every generated file copies a format
reference: front matter with the task, the chosen model and a one-sentence
reason. The answer is accepted only when its model is one the rules name;
otherwise the dispatcher's repair turn asks again.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from orchestrator.authoring.sources import RowSpec
from orchestrator.models import ModelTable
from orchestrator.plan.model import Plan
from orchestrator.plan.model_rules import ModelRules
from orchestrator.providers.base import CallRequest, Turn
from orchestrator.validators import extract_document
from orchestrator.validators.document import parse_document

MAX_TOKENS = 300
OUTPUT_TOKENS = 80  # a short answer: the estimate's output per row
SYSTEM = (
    "You assign each task of a batch of generated documents the model that should write it, by the plan's "
    "Model Selection Rules. Apply the rules as written; when none applies, choose the Default. Reply with the "
    "format reference's front matter only: the task's title, the model you choose, and a one-sentence reason "
    "naming the rule that applies. Add no code fence and no commentary."
)
_REFERENCE = """---
task: Example task title
model: {default}
reason: No rule other than the Default applies to this task.
---
"""


@dataclass(frozen=True)
class Question:
    index: int  # the spec's index in the addition
    spec: RowSpec
    request: CallRequest


def allowed_models(rules: ModelRules, plan: Plan, models: ModelTable) -> list[str]:
    """Models the rules name: the compiled ones' and any named in a line not compiled."""
    names = [r.model for r in rules.rules]
    for item in plan.model_rules:
        names += [w.lower() for w in re.findall(r"[\w.\-]+", item.text) if models.get(w) is not None]
    return list(dict.fromkeys(names))


def questions(
    plan: Plan, specs: Sequence[RowSpec], rules: ModelRules, allowed: list[str], model_id: str
) -> list[Question]:
    """One request per row the compiled rules are unsure of (rows with a given model excluded)."""
    default = rules.default.model if rules.default else allowed[0]
    shared = "\n".join([
        "Read the reference below for the reply's format.", "",
        '<format_reference path="model-choice.md">', _REFERENCE.format(default=default).rstrip(),
        "</format_reference>", "",
        f"Follow these content rules: model must be one of: {', '.join(allowed)}.", "",
        "The plan's Model Selection Rules:", *(f"- {item.text}" for item in plan.model_rules),
    ])
    found: list[Question] = []
    for index, spec in enumerate(specs):
        if spec.model is not None or rules.choose(spec.title, dict(spec.extras)).certain:
            continue
        details = "; ".join(f"{k}: {v}" for k, v in spec.extras if v)
        text = f"Produce output covering {spec.title}." + (f"\nRow details: {details}." if details else "")
        request = CallRequest(model_id, SYSTEM, shared, (Turn("user", text),), MAX_TOKENS,
                              {"purpose": "classify", "row": str(index)})
        found.append(Question(index, spec, request))
    return found


@dataclass(frozen=True)
class Answer:
    model: str | None
    reason: str
    problem: str = ""  # why the reply cannot be used (sent back in a repair turn)


def read_answer(reply: str, allowed: list[str], models: ModelTable) -> Answer:
    """The model and reason in a reply, or what is wrong with it."""
    doc = parse_document(extract_document(reply).content)
    entries = doc.front_matter.entries
    model = entries.get("model")
    value = model.value if model is not None else None
    if not isinstance(value, str) or not value.strip():
        return Answer(None, "", "the reply has no `model:` line in its front matter")
    chosen = value.strip().lower()
    info = models.get(chosen)
    if info is None or all(models.get(a) != info for a in allowed):
        return Answer(None, "", f"model '{value}' is not one of: {', '.join(allowed)}")
    reason = entries.get("reason")
    text = reason.value if reason is not None and isinstance(reason.value, str) else ""
    text = " ".join(text.split())
    return Answer(chosen, text[:200] or "(no reason given)")
