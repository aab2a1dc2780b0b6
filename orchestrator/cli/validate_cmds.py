"""``orchestrate explain`` and ``orchestrate validate``: what the rules became, and the verdict.

Both compile the plan with :func:`orchestrator.validators.compile_plan`; errors
in the plan or the format reference surface as :class:`PlanError` (exit 2)
through the CLI boundary in :mod:`orchestrator.cli.main`.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import click

from orchestrator.errors import EXIT_FAILED, EXIT_OK, BadInputError, PlanError
from orchestrator.plan.check import file_in_the_way, require_phase
from orchestrator.plan.model import COMPLETE, Plan, Row
from orchestrator.plan.model_explain import explain_model_rules, model_rule_lines
from orchestrator.plan.parser import read_plan
from orchestrator.validators import CompiledPlan, FileReport, RuleReport, compile_plan
from orchestrator.validators.expectations import CHECKLIST, CONTENT_RULES
from orchestrator.validators.registry import DEFAULT_LINT_TIMEOUT
from orchestrator.validators.results import failed

# A folder is refused by read_plan, whose message names the plan files inside it.
PLAN_ARG = click.argument("plan", type=click.Path(path_type=Path))
_TITLES = {CONTENT_RULES: "Content Rules", CHECKLIST: "Validation Checklist"}
_REGISTERED = "tracking.registered"


# --- explain -------------------------------------------------------------------------


@click.command("explain")
@PLAN_ARG
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def explain_cmd(plan: Path, as_json: bool) -> int:
    """Show what each Content Rule and checklist line of PLAN became.

    Every line is either compiled into named checks or listed as not
    machine-checked, with the reason. Checks derived from the format reference
    itself are listed last.

    \b
    Example:
      orchestrate explain plans/glossary.md
    """
    compiled = compile_plan(read_plan(plan, require_phases=True))
    model_rules = model_rule_lines(compiled.plan)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "plan": str(plan),
                    "rules": [r.as_dict() for r in compiled.explain()],
                    "model_rules": [line.as_dict() for line in model_rules],
                    "format_reference": [r.as_dict() for r in compiled.derived],
                    "checks": compiled.check_names(),
                },
                indent=2,
            )
        )
        return EXIT_OK
    for line in _explain_lines(compiled, plan):
        click.echo(line)
    for line in explain_model_rules(model_rules):
        click.echo(line)
    return EXIT_OK


def _explain_lines(compiled: CompiledPlan, plan: Path) -> list[str]:
    rules = compiled.explain()
    unchecked = len(compiled.unchecked)
    out = [
        f"{plan}: {len(rules)} line(s): {len(rules) - unchecked} compiled into checks, "
        f"{unchecked} not machine-checked"
    ]
    for section, title in _TITLES.items():
        out += ["", title]
        out += [
            text for report in rules if report.section == section for text in _rule_lines(report)
        ]
    out += ["", f"From the format reference ({compiled.reference.path})"]
    out += [f"  {r.text}\n      -> {', '.join(r.checks or ())}" for r in compiled.derived]
    if not compiled.trust_plan and any("lint.command" in (r.checks or ()) for r in rules):
        out += ["", "note: lint.command runs only with --trust-plan (or ORCHESTRATE_TRUST_PLAN=1)"]
    return out


def _rule_lines(report: RuleReport) -> list[str]:
    head = f"  {report.line:>4}  {report.text}"
    if report.checks is None:
        return [head, f"        NOT machine-checked: {report.reason}"]
    lines = [head, f"        -> {', '.join(report.checks)}"]
    lines += [f"           expects {e.describe()}" for e in report.expectations]
    if report.note:
        lines.append(f"           note: {report.note}")
    return lines


# --- validate ------------------------------------------------------------------------


@dataclass
class _Outcome:
    """One selected row and what validating its output found."""

    row: Row
    report: FileReport
    missing: bool = False
    recorded: bool = False

    @property
    def counts(self) -> bool:
        """Whether this file decides the exit code: missing files are reported, not checked."""
        return not self.missing

    def as_dict(self) -> dict[str, object]:
        data = self.report.as_dict()
        return {
            "row": self.row.id,
            "phase": self.row.phase,
            "status": self.row.status,
            "missing": self.missing,
            "recorded": self.recorded,
            **data,
        }


@click.command("validate")
@PLAN_ARG
@click.option("--phase", type=int, help="Only rows of this phase.")
@click.option("--row", "row_id", help="Only the row with this # (id).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option(
    "--trust-plan",
    is_flag=True,
    help="Allow the plan's linter command to run (also ORCHESTRATE_TRUST_PLAN=1).",
)
@click.option(
    "--lint-timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=DEFAULT_LINT_TIMEOUT,
    show_default=True,
    help="Seconds the plan's linter may run per file before it is stopped and the file fails.",
)
@click.option("--record", is_flag=True, help="Mark rows whose files pass as complete in the plan.")
@click.option("--wait", is_flag=True, help="With --record: wait for another run's plan lock instead of refusing.")
def validate_cmd(
    plan: Path,
    phase: int | None,
    row_id: str | None,
    as_json: bool,
    trust_plan: bool,
    lint_timeout: float,
    record: bool,
    wait: bool,
) -> int:
    """Check the output files of PLAN's rows against the format reference and the rules.

    Files that do not exist yet are reported as missing and are not checked.
    Exit 0 when every checked file passes, 1 when any fails, 2 for bad input.

    \b
    Example:
      orchestrate validate plans/glossary.md --phase 1
      orchestrate validate plans/glossary.md --row 2 --json --trust-plan
    """
    parsed = read_plan(plan, require_phases=True)
    rows = _select_rows(parsed, phase, row_id)
    compiled = compile_plan(parsed, trust_plan=trust_plan, lint_timeout=lint_timeout)
    outcomes = [_validate_row(compiled, parsed, row) for row in rows]
    if record:
        _record(compiled, parsed, outcomes, wait=wait)
    ok = all(o.report.ok for o in outcomes if o.counts)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "ok": ok,
                    "files": [o.as_dict() for o in outcomes],
                    "unchecked_rules": [r.as_dict() for r in compiled.unchecked],
                },
                indent=2,
            )
        )
    else:
        _print_outcomes(compiled, outcomes)
    return EXIT_OK if ok else EXIT_FAILED


def _select_rows(plan: Plan, phase: int | None, row_id: str | None) -> list[Row]:
    out_dir = plan.output_dir_path()
    if out_dir is None:
        raise PlanError(
            "the plan names no Output Directory",
            path=plan.path,
            line=1,
            hint="add `## Output Directory` followed by the folder outputs are written to",
        )
    blocker = file_in_the_way(out_dir)
    if blocker is not None:
        line = plan.output_directory.line if plan.output_directory else None
        raise PlanError(
            f"the Output Directory cannot hold outputs: {blocker} is a file",
            path=plan.path,
            line=line,
            hint=f"move or rename {blocker}, or name another folder under `## Output Directory`",
        )
    if phase is not None:
        require_phase(plan, phase)
    rows = [r for r in plan.rows() if phase is None or r.phase == phase]
    if row_id is not None:
        rows = [r for r in rows if r.id == row_id]
        if not rows:
            where = f" in Phase {phase}" if phase is not None else ""
            raise BadInputError(
                f"no row #{row_id}{where}",
                path=plan.path,
                hint="row ids are the values of the # column",
            )
    return rows


def _validate_row(compiled: CompiledPlan, plan: Plan, row: Row) -> _Outcome:
    out_dir = plan.output_dir_path()
    assert out_dir is not None
    path = plan.output_path(row)
    # realpath, not Path.resolve: a symlink loop must reach the read (which names it), not raise RuntimeError
    if not row.filename or not Path(os.path.realpath(path)).is_relative_to(os.path.realpath(out_dir)):
        message = (
            f"filename '{row.filename}' of row #{row.id} does not name a file inside {out_dir}"
        )
        return _Outcome(row, FileReport(path, [failed("file.path", message, row.line)]))
    report = compiled.validate_file(path)
    missing = "file.exists" in report.failed_names()
    return _Outcome(row, report, missing=missing)


def _passes_before_recording(report: FileReport) -> bool:
    """Recording registers the output, so registration cannot be a precondition of it."""
    return all(c.ok or c.name == _REGISTERED for c in report.checks)


def _record(compiled: CompiledPlan, plan: Plan, outcomes: list[_Outcome], *, wait: bool = False) -> None:
    """Mark passing rows complete and register their outputs, then re-check what that changed.

    This is the template's RECORD step: Status reads complete, the output is
    registered in the tracking file. Rows already complete and registered
    are left alone.
    """
    from orchestrator.recorder import Recorder, TrackingEntry

    eligible = [
        o
        for o in outcomes
        if not o.missing
        and _passes_before_recording(o.report)
        and (o.row.status != COMPLETE or not o.report.ok)
    ]
    if not eligible:
        return
    with Recorder(plan.path, wait=wait) as recorder:
        for outcome in eligible:
            row = outcome.row
            recorder.set_status(row.phase, row.id, row.filename, COMPLETE)
            recorder.register(
                TrackingEntry.for_output(
                    outcome.report.path,
                    title=row.title,
                    phase=row.phase,
                    row=row.id,
                    model=row.model,
                )
            )
            outcome.recorded = True
    for outcome in eligible:
        outcome.report = compiled.validate_file(outcome.report.path)


def _print_outcomes(compiled: CompiledPlan, outcomes: list[_Outcome]) -> None:
    skipped: dict[str, str] = {}
    for outcome in outcomes:
        click.echo(_headline(outcome, compiled))
        for check in outcome.report.failures:
            if not outcome.missing:
                click.echo("    " + check.render(outcome.report.path).replace("\n", "\n      "))
        skipped.update({c.name: c.message for c in outcome.report.skipped})
    for name, message in skipped.items():
        click.echo(f"[{name}] {message}")
    if compiled.unchecked:
        click.echo(f"\nnot machine-checked ({len(compiled.unchecked)}):")
        for report in compiled.unchecked:
            click.echo(
                f"  {compiled.plan.path}:{report.line}: {report.text}\n      {report.reason}"
            )
    checked = [o for o in outcomes if not o.missing]
    bad = sum(1 for o in checked if not o.report.ok)
    click.echo(
        f"\n{len(checked)} file(s) checked: {len(checked) - bad} passed, {bad} failed; "
        f"{len(outcomes) - len(checked)} missing"
    )


def _headline(outcome: _Outcome, compiled: CompiledPlan) -> str:
    row = outcome.row
    label = "MISSING" if outcome.missing else ("PASS" if outcome.report.ok else "FAIL")
    extra = f" (row is {row.status})" if outcome.missing else ""
    if outcome.missing and row.filename and Path(row.filename).name == compiled.reference.path.name:
        extra = f" (row is {row.status}; its output is the format reference {compiled.reference.path})"
    extra += " -> recorded complete" if outcome.recorded else ""
    return f"{label:<7} phase {row.phase} row {row.id}: {outcome.report.path}{extra}"
