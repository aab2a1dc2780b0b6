"""Write a new plan file: checked first, created exclusively, never over an existing file."""

from __future__ import annotations

from pathlib import Path

from orchestrator.authoring.skeleton import plan_text, read_reference_file
from orchestrator.errors import BadInputError, PlanProblems
from orchestrator.models import load_model_table
from orchestrator.plan.check import check_plan, file_in_the_way
from orchestrator.plan.parser import parse_plan
from orchestrator.recorder.atomic import replace_if_unchanged


def write_new_plan(plan_path: Path, reference: Path, output_dir: Path | None) -> str:
    """Write the plan for ``reference`` at ``plan_path``; return its text.

    The text is checked exactly as ``orchestrate check`` would check the
    file, before anything is written; an existing file is never replaced.
    """
    if plan_path.exists() or plan_path.is_symlink():
        raise BadInputError("already exists: `new` never overwrites a file", path=plan_path,
                            hint="choose another name, or add rows to it with `orchestrate add`")
    blocker = file_in_the_way(plan_path.parent)
    if blocker is not None:
        raise BadInputError("is a file, so the plan's folder cannot be created", path=blocker,
                            hint="choose a plan path that does not go through a file")
    if reference.resolve() == plan_path.resolve():
        raise BadInputError("the format reference cannot be the plan itself", path=reference,
                            hint="pass a finished, hand-written output as --reference")
    text = plan_text(read_reference_file(reference), plan_path, output_dir)
    plan = parse_plan(text, plan_path)
    problems = check_plan(plan, load_model_table(plan.base_dir))
    if problems:
        raise PlanProblems(problems, plan_path)
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    if not replace_if_unchanged(plan_path, text.encode("utf-8"), None):
        raise BadInputError("already exists: `new` never overwrites a file", path=plan_path,
                            hint="it appeared while the plan was being written; choose another name")
    return text
