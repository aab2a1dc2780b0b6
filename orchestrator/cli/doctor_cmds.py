"""``orchestrate doctor``: the checks of :mod:`orchestrator.doctor`, printed; spends nothing."""

from __future__ import annotations

import json
from pathlib import Path

import click

from orchestrator.errors import EXIT_FAILED, EXIT_OK


@click.command("doctor")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--provider", help="Check this provider (default: what `run` would choose).")
@click.option("--trust-plan", is_flag=True, help="Check as a run with --trust-plan would (the lint command).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
def doctor_cmd(plan: Path, provider: str | None, trust_plan: bool, as_json: bool) -> int:
    """Check that PLAN can run here, before any money is spent.

    Checks the plan (as `check` does), which provider a run would use and
    why, that its key is set, that its API answers one free count_tokens
    request, and that every lint command of the plan resolves to an
    executable. Lists the rules a run would not check, with the flag or
    package that enables each. Makes no paid call and writes nothing.

    Exit 0 when nothing stops a run, 1 when a check fails.

    \b
    Examples:
      orchestrate doctor plans/glossary.md
      orchestrate doctor plans/glossary.md --provider sim
      orchestrate doctor plans/glossary.md --trust-plan --json
    """
    from orchestrator.doctor import render_text, run_doctor

    report = run_doctor(plan, provider=provider, trust_plan=trust_plan)
    if as_json:
        click.echo(json.dumps(report.as_dict(), indent=2))
    else:
        click.echo(render_text(report))
    return EXIT_OK if report.ok else EXIT_FAILED
