"""Commands that need no model: ``init``, ``check``, ``status``, ``prompt``.

They import neither the SDK nor the async machinery, so they start fast.
"""

from __future__ import annotations

import json
import os
import sys
from importlib import resources
from pathlib import Path

import click

from orchestrator.errors import BadInputError, Problem
from orchestrator.models import load_model_table
from orchestrator.plan.check import check_plan, file_in_the_way, load_checked_plan, require_phase
from orchestrator.plan.model import Phase, Plan, Row
from orchestrator.plan.model_check import model_rule_notes, model_rule_warnings
from orchestrator.plan.parser import read_plan
from orchestrator.prompts import dispatch_prompt, orchestrator_prompt

# A folder is refused by read_plan, whose message names the plan files inside it.
PLAN_ARG = click.argument("plan", type=click.Path(path_type=Path))

_EXAMPLES = {"plans": "orchestrator.examples.plans", "format_refs": "orchestrator.examples.format_refs"}


@click.command("init")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
def init_cmd(directory: Path, force: bool) -> None:
    """Copy the example plan and format reference into DIRECTORY.

    The copy keeps the repository's layout (plans/ and format_refs/), so the
    paths inside the plan stay valid and trying the example never modifies
    the installed package or the repository.

    \b
    Example:
      orchestrate init demo
      orchestrate run demo/plans/glossary.md --phase 1 --provider sim --yes
    """
    planned: list[tuple[Path, bytes]] = []
    for folder, package in _EXAMPLES.items():
        for entry in resources.files(package).iterdir():
            if entry.name.endswith(".md"):
                planned.append((directory / folder / entry.name, entry.read_bytes()))
    blocker = file_in_the_way(directory)
    if blocker is not None:
        raise BadInputError(f"is a file, so the folder {directory} cannot be created", path=blocker,
                            hint="choose a folder path that does not go through a file, e.g. `orchestrate init demo`")
    blocker = next((b for b in (file_in_the_way(directory / folder) for folder in _EXAMPLES) if b), None)
    if blocker is not None:
        raise BadInputError("is a file where the example needs a folder", path=blocker,
                            hint="choose another folder, or move that file away")
    existing = [path for path, _ in planned if path.exists()]
    if existing and not force:
        raise BadInputError(f"{existing[0]} already exists", path=existing[0],
                            hint="choose an empty folder, or pass --force to overwrite")
    for path, data in planned:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        click.echo(f"wrote {path}")
    plan = directory / "plans" / "glossary.md"
    click.echo(f"\nNext:\n  orchestrate check {plan}\n  orchestrate run {plan} --phase 1 --provider sim --yes")


@click.command("check")
@PLAN_ARG
@click.option("--json", "as_json", is_flag=True, help="Print the problems as JSON.")
def check_cmd(plan: Path, as_json: bool) -> int:
    """Report every problem in PLAN at once, each as file:line with a hint.

    Exit 0 when the plan is clean, 2 when it has any problem.

    \b
    Example:
      orchestrate check plans/glossary.md
    """
    parsed = read_plan(plan)
    table = load_model_table(parsed.base_dir)
    problems = check_plan(parsed, table)
    unchecked = _unchecked_rules(parsed) + model_rule_notes(parsed, table) if not problems else []
    warnings = model_rule_warnings(parsed, table) if not problems else []
    if as_json:
        click.echo(json.dumps({"plan": str(plan), "ok": not problems,
                               "problems": [p.as_dict() for p in problems],
                               "warnings": [w.as_dict() for w in warnings],
                               "unchecked_rules": [p.as_dict() for p in unchecked]}, indent=2))
    else:
        for problem in problems:
            click.echo(problem.render(), err=True)
        for warning in warnings:
            click.echo(f"warning: {warning.render()}", err=True)
        # Notes, not problems: on stderr, so stdout stays the one summary line.
        for item in unchecked:
            click.echo(f"note: {item.render()}", err=True)
    if problems:
        if not as_json:
            click.echo(f"{plan}: {len(problems)} problem(s)", err=True)
        return 2
    if not as_json:
        click.echo(_summary_line(parsed, len(unchecked)))
    return 0


def _unchecked_rules(plan: Plan) -> list[Problem]:
    """Rules and checklist lines the validators cannot check, as notes (not problems)."""
    from orchestrator.validators import compile_plan

    compiled = compile_plan(plan)
    return [Problem(plan.path, item.line, f"not machine-checked: {item.text}", reason)
            for item, reason in compiled.unchecked_lines()]


def _summary_line(plan: Plan, unchecked: int = 0) -> str:
    rows = list(plan.rows())
    counts: dict[str, int] = {}
    for row in rows:
        counts[row.status] = counts.get(row.status, 0) + 1
    by_status = ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
    return (f"{plan.path}: OK: {len(plan.phases)} phase(s), {len(rows)} row(s) ({by_status}), "
            f"{len(plan.content_rules)} content rule(s), {len(plan.checklist)} checklist item(s)"
            + (f"; {unchecked} line(s) not machine-checked (`orchestrate explain {plan.path}` lists them)"
               if unchecked else ""))


@click.command("status")
@PLAN_ARG
@click.option("--phase", type=int, help="Only this phase.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status_cmd(plan: Path, phase: int | None, as_json: bool) -> None:
    """Count PLAN's rows by status, per phase, and list them.

    \b
    Example:
      orchestrate status plans/glossary.md --phase 1
      orchestrate status plans/glossary.md --json
    """
    parsed = read_plan(plan, require_phases=True)
    if phase is not None:
        require_phase(parsed, phase)
    phases = [p for p in parsed.phases if phase is None or p.number == phase]
    simulated = _simulated_rows(parsed)
    if as_json:
        payload = {"plan": str(plan), "phases": [
            {"phase": p.number, "counts": p.counts(), "simulated": sum(1 for r in p.rows if r.line in simulated),
             "rows": [{**_row_dict(r), "simulated": r.line in simulated} for r in p.rows]} for p in phases]}
        click.echo(json.dumps(payload, indent=2))
        return
    if sys.stdout.isatty():
        _print_rich(phases, simulated)
        return
    for p in phases:
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(p.counts().items()))
        sims = sum(1 for r in p.rows if r.line in simulated)
        click.echo(f"Phase {p.number}  ({counts})" + (f"  {sims} SIMULATED (--provider sim: not real output)"
                                                      if sims else ""))
        # Columns as wide as their longest value, so a long filename cannot shift the titles.
        w_id, w_status, w_model, w_file = (max([4, *(len(v) for v in values)]) for values in (
            [r.id for r in p.rows], [r.status for r in p.rows], [r.model for r in p.rows],
            [r.filename for r in p.rows]))
        for r in p.rows:
            mark = "  SIMULATED" if r.line in simulated else ""
            click.echo(f"  {r.id:>{w_id}}  {r.status:<{w_status}}  {r.model:<{w_model}}  "
                       f"{r.filename:<{w_file}}  {r.title}{mark}".rstrip())


def _row_dict(row: Row) -> dict[str, object]:
    return {"id": row.id, "title": row.title, "filename": row.filename, "model": row.model,
            "status": row.status, "line": row.line}


def _simulated_rows(plan: Plan) -> set[int]:
    """Plan lines of the complete rows whose output the simulator wrote (their tracking entry says so)."""
    from orchestrator.recorder.simulated import simulated_outputs

    outputs = simulated_outputs(plan.tracking_file_path())
    if not outputs or plan.output_dir_path() is None:
        return set()
    return {r.line for r in plan.rows() if r.status == "complete" and os.path.realpath(plan.output_path(r)) in outputs}


def _print_rich(phases: list[Phase], simulated: set[int]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for p in phases:
        counts = ", ".join(f"{s}: {n}" for s, n in sorted(p.counts().items()))
        table = Table(title=f"Phase {p.number}  ({counts})", title_justify="left")
        for column in ("#", "Status", "Model", "Filename", "Title"):
            table.add_column(column)
        for r in p.rows:
            style = "green" if r.status == "complete" else "yellow" if r.status == "pending" else "dim"
            mark = " [bold yellow](simulated)[/]" if r.line in simulated else ""
            table.add_row(r.id, f"[{style}]{r.status}[/]{mark}", r.model, r.filename, r.title)
        console.print(table)


@click.command("prompt")
@PLAN_ARG
@click.option("--phase", type=int, help="The phase to run (required unless --row names a unique row).")
@click.option("--row", "row_id", help="Print the resolved DISPATCH prompt for this row (#) instead.")
def prompt_cmd(plan: Path, phase: int | None, row_id: str | None) -> None:
    """Print the resolved orchestrator prompt for a phase, ready to paste.

    With --row, print the DISPATCH prompt one agent receives for that row:
    the same sentences `orchestrate run` sends to the model.

    \b
    Example:
      orchestrate prompt plans/glossary.md --phase 1
      orchestrate prompt plans/glossary.md --row 2
    """
    parsed = load_checked_plan(plan)
    if row_id is not None:
        row = parsed.find_row(row_id, phase)
        if row is None:
            where = f" in Phase {phase}" if phase is not None else ""
            raise BadInputError(f"no row # {row_id}{where}", path=plan,
                                hint="`orchestrate status PLAN` lists the rows")
        click.echo(dispatch_prompt(parsed, row))
        return
    if phase is None:
        raise click.UsageError("pass --phase N (or --row ID for one row's prompt)")
    require_phase(parsed, phase)
    tracking = parsed.tracking_file_path()
    try:
        shown = tracking.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        shown = str(tracking)
    click.echo(orchestrator_prompt(parsed, phase, shown), nl=False)
