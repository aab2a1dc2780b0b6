"""Turn row specs into the rows ``add`` appends: ids, filenames and models, each explained.

Pure: it reads the plan as parsed and returns a
:class:`~orchestrator.recorder.rows.RowAddition` plus one :class:`PlannedRow`
per spec saying how its filename and model were chosen. Every problem is
found before anything is written, and all of them are reported at once.

A row's model, in order: ``--model``; the model its source gave; a
``--classify`` answer (only for rows the compiled rules are unsure of);
the compiled Model Selection Rules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from orchestrator.authoring.slugs import filename_key, unique_filename
from orchestrator.authoring.sources import RowSpec, rows_refused
from orchestrator.errors import Problem
from orchestrator.models import ModelTable
from orchestrator.plan.check import filename_problem
from orchestrator.plan.model import Plan
from orchestrator.plan.model_rules import Choice, ModelRules, compile_model_rules
from orchestrator.recorder.rows import RowAddition, column_key

_CORE_KEYS = {"#", "title", "filename", "model", "status"}


@dataclass(frozen=True)
class Classified:
    """A cheap model's answer for one row (``--classify``)."""

    model: str
    reason: str


@dataclass(frozen=True)
class PlannedRow:
    spec: RowSpec
    id: str
    filename: str
    model: str
    how: str  # how the model was chosen
    note: str = ""  # doubt about that choice, or how the filename was made unique
    extras: tuple[tuple[str, str], ...] = ()

    def cells(self) -> dict[str, str]:
        return {"#": self.id, "Title": self.spec.title, "Filename": self.filename, "Model": self.model,
                "Status": "pending", **dict(self.extras)}


@dataclass(frozen=True)
class AddOptions:
    phase: int
    model: str | None = None  # --model
    classified: Mapping[int, Classified] = field(default_factory=dict)  # by spec index
    undecided_ok: bool = False  # a preview before --classify: a row without a model yet is no problem


def plan_addition(
    plan: Plan, specs: Sequence[RowSpec], models: ModelTable, options: AddOptions
) -> tuple[RowAddition, list[PlannedRow]]:
    """The rows to append to ``plan`` for ``specs``; bad input (exit 2) listing every unusable one."""
    rules = compile_model_rules(plan.model_rules, models)
    taken = {filename_key(row.filename) for row in plan.rows() if row.filename}
    next_id = _next_id(plan)
    problems: list[Problem] = []
    planned: list[PlannedRow] = []
    extra_columns = _extra_columns(specs)
    for index, spec in enumerate(specs):
        filename, name_note = _filename(plan, spec, taken, problems)
        model, how, note = _model(spec, rules, models, options, index, problems)
        if not spec.title:
            problems.append(Problem(spec.origin, None, "empty title", "every row needs a title"))
        planned.append(PlannedRow(spec, str(next_id + index), filename, model, how,
                                  "; ".join(n for n in (note, name_note) if n), spec.extras))
        taken.add(filename_key(filename))
    if problems:
        raise rows_refused(problems)
    addition = RowAddition(options.phase, tuple(p.cells() for p in planned), extra_columns)
    return addition, planned


def _next_id(plan: Plan) -> int:
    numbers = [int(row.id) for row in plan.rows() if row.id.isdigit()]
    return max(numbers, default=0) + 1


def _extra_columns(specs: Sequence[RowSpec]) -> tuple[str, ...]:
    names: dict[str, str] = {}
    for spec in specs:
        for header, _ in spec.extras:
            key = column_key(header)
            if key not in _CORE_KEYS:
                names.setdefault(key, header)
    return tuple(names.values())


def _filename(plan: Plan, spec: RowSpec, taken: set[str], problems: list[Problem]) -> tuple[str, str]:
    suffix = _suffix(plan)
    if spec.filename is None:
        name = unique_filename(spec.title, taken, suffix)
        plain = unique_filename(spec.title, (), suffix)
        return name, "" if name == plain else f"{plain} is taken: named {name}"
    problem = filename_problem(spec.filename, plan.output_dir_path())
    if problem:
        problems.append(Problem(spec.origin, None, problem, "give a plain relative name such as quorum.md"))
    elif filename_key(spec.filename) in taken:
        problems.append(Problem(spec.origin, None, f"Filename {spec.filename} is already used in the plan",
                                "two rows would overwrite each other's output; give another name"))
    return spec.filename, ""


def _suffix(plan: Plan) -> str:
    """New files take the format reference's extension (``.md`` usually)."""
    ref = plan.format_reference
    suffix = PurePosixPath(ref.text.replace("\\", "/")).suffix if ref else ""
    return suffix if suffix and len(suffix) <= 10 and suffix[1:].isalnum() else ".md"


def _model(
    spec: RowSpec, rules: ModelRules, models: ModelTable, options: AddOptions, index: int, problems: list[Problem]
) -> tuple[str, str, str]:
    """(model, how it was chosen, doubt)."""
    if options.model is not None:
        return options.model, "--model", ""
    if spec.model is not None:
        if models.get(spec.model) is None:
            known = ", ".join(sorted(models.models))
            problems.append(Problem(spec.origin, None, f"model '{spec.model}' has no entry in the model table",
                                    f"use one of: {known}"))
        return spec.model, f"given in {spec.origin}", ""
    choice = rules.choose(spec.title, dict(spec.extras))
    answer = options.classified.get(index)
    if answer is not None and not choice.certain:
        return answer.model, f"--classify: {answer.reason}", ""
    if choice.model is None and options.undecided_ok:
        return "", "undecided", ""
    if choice.model is None:
        problems.append(Problem(spec.origin, None, f"no model for '{spec.title[:60]}': {choice.describe()}",
                                "add `- Default: haiku for ...` to Model Selection Rules, or pass --model"))
        return "", "", ""
    return choice.model, describe_choice(choice), choice.note


def describe_choice(choice: Choice) -> str:
    """The rule that chose, without the doubt (printed apart)."""
    if choice.rule is None:
        return "no rule"
    if choice.rule.is_default:
        return f"default rule (line {choice.rule.item.line})"
    return f'rule "{choice.rule.name}" (line {choice.rule.item.line}): {choice.evidence}'
