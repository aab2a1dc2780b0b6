"""``orchestrate new`` and ``orchestrate add``: write a plan, then add rows to it.

Thin: sources, ids, filenames and models are chosen in
:mod:`orchestrator.authoring`; rows are written by
:func:`orchestrator.recorder.rows.append_rows` (locked, atomic,
byte-preserving). Neither command calls a model unless ``--classify`` is
given, and then only after an estimate and a confirmation.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from orchestrator.authoring.addition import AddOptions, Classified, PlannedRow, plan_addition
from orchestrator.authoring.skeleton import FILL_IN
from orchestrator.authoring.sources import FORMATS, RowSpec, from_titles, parse_source, read_source
from orchestrator.authoring.writing import write_new_plan
from orchestrator.errors import EXIT_OK, BadInputError
from orchestrator.models import ModelTable, load_model_table
from orchestrator.plan.check import load_checked_plan
from orchestrator.plan.model import Plan
from orchestrator.plan.model_rules import compile_model_rules
from orchestrator.recorder.rows import RowAddition, add_rows_text, append_rows

_SHOWN_TITLE = 60


def stdin_is_terminal() -> bool:
    """Whether standard input is a person at a terminal (tests replace this)."""
    return sys.stdin.isatty()


@click.command("new")
@click.argument("plan", type=click.Path(path_type=Path))
@click.option("--reference", "reference", required=True, type=click.Path(path_type=Path),
              help="A finished, hand-written output every generated file copies.")
@click.option("--output-dir", type=click.Path(path_type=Path),
              help="Folder outputs are written to (default: output/<plan name>/ beside the plan).")
def new_cmd(plan: Path, reference: Path, output_dir: Path | None) -> int:
    """Write a new plan PLAN whose rules are derived from a format reference.

    Content Rules and a Validation Checklist in phrasings the validators
    compile (the reference's front matter keys, its sections in order, blank
    lines before tables), a marked block for the values a key may take, a
    default model rule and an empty Phase 1. Never overwrites a file.

    \b
    Example:
      orchestrate new plans/recipes.md --reference format_refs/recipe-card.md
      orchestrate add plans/recipes.md --phase 1 "Cacio e Pepe" "Chana Masala"
    """
    text = write_new_plan(plan, reference, output_dir)
    click.echo(f"wrote {plan}")
    lines = text.split("\n")
    marked = next((n for n, line in enumerate(lines, 1) if line.startswith(f"<!-- {FILL_IN}")), None)
    click.echo("\nNext:")
    if marked is not None:
        click.echo(f"  fill in the allowed values at {plan}:{marked} (or delete that comment)")
    click.echo(f"  orchestrate add {plan} --phase 1 \"First title\" \"Second title\"")
    click.echo(f"  orchestrate check {plan}")
    return EXIT_OK


@click.command("add")
@click.argument("plan", type=click.Path(path_type=Path))
@click.argument("titles", nargs=-1)
@click.option("--phase", type=click.IntRange(min=1), required=True, help="Phase to add to (created if missing).")
@click.option("--from", "source", type=click.Path(path_type=Path, allow_dash=True),
              help="Rows from a file: one title a line, .csv/.tsv or .jsonl (- reads standard input).")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default="auto", show_default=True,
              help="How to read --from (auto: by the file's suffix; standard input: JSONL or text).")
@click.option("--model", help="Give every new row this model (overrides the Model Selection Rules).")
@click.option("--dry-run", is_flag=True, help="Print the rows that would be added; write nothing.")
@click.option("--classify", "classify_model", metavar="MODEL",
              help="Ask MODEL to apply the rules that could not be compiled (spends money; asks first).")
@click.option("--provider", help="Provider for --classify: anthropic, sim, ... (default: anthropic when a key is set).")
@click.option("--yes", "-y", is_flag=True, help="With --classify: do not ask for confirmation.")
@click.option("--wait", is_flag=True, help="Wait for another process holding the plan's lock.")
def add_cmd(plan: Path, titles: tuple[str, ...], phase: int, source: Path | None, fmt: str, model: str | None,
            dry_run: bool, classify_model: str | None, provider: str | None, yes: bool, wait: bool) -> int:
    """Add rows to Phase N of PLAN: titles as arguments, from --from FILE, or piped in.

    Ids continue the plan's numbering; filenames are derived from titles
    (unique, inside the Output Directory) unless given; each row's model is
    chosen by the plan's Model Selection Rules, and the rule that chose it is
    printed. CSV/JSONL columns other than title, filename and model become
    extra table columns, passed to prompts as row details.

    \b
    Examples:
      orchestrate add plans/glossary.md --phase 1 Quorum "Vector Clock"
      orchestrate add plans/glossary.md --phase 3 --from terms.csv --dry-run
      ls topics | orchestrate add plans/glossary.md --phase 1
    """
    parsed = load_checked_plan(plan)
    specs = _specs(titles, source, fmt)
    table = load_model_table(parsed.base_dir)
    if model is not None and table.get(model) is None:
        raise BadInputError(f"unknown model {model!r}", hint=f"use one of: {', '.join(sorted(table.models))}")
    if model is not None and classify_model is not None:
        raise BadInputError("--classify and --model together: --model gives every row its model, nothing to ask",
                            hint="pass one of them")
    options = AddOptions(phase, model, undecided_ok=classify_model is not None)
    addition, planned = plan_addition(parsed, specs, table, options)  # every problem, before any spending
    if classify_model is not None:
        options = AddOptions(phase, model, _classify(parsed, specs, planned, table, classify_model, provider, yes))
        addition, planned = plan_addition(parsed, specs, table, options)
    _print_uncompiled(parsed, table)
    if dry_run:
        insertion = add_rows_text(parsed.text, parsed, addition)
        _print_rows(planned, "would add")
        click.echo(f"\nwould write to {plan}" + (f" (new section: Phase {phase})" if insertion.new_phase else "") + ":")
        for line in insertion.lines:
            click.echo(f"  {line}")
        click.echo("dry run: nothing was written")
        return EXIT_OK
    return _append(plan, parsed, specs, table, options, wait)


def _append(
    plan: Path, parsed: Plan, specs: list[RowSpec], table: ModelTable, options: AddOptions, wait: bool
) -> int:
    latest: list[list[PlannedRow]] = []

    def compute(fresh: Plan) -> RowAddition:
        addition, planned = plan_addition(fresh, specs, table, options)
        latest.append(planned)
        return addition

    done = append_rows(plan, compute, wait=wait, known=parsed)
    _print_rows(latest[-1], "added")
    extra = []
    if done.insertion.new_phase:
        extra.append(f"new section Phase {options.phase}")
    if done.insertion.added_columns:
        extra.append("new column(s): " + ", ".join(done.insertion.added_columns))
    suffix = f" ({'; '.join(extra)})" if extra else ""
    click.echo(f"\n{plan}: {len(latest[-1])} row(s) added to Phase {options.phase}{suffix}")
    click.echo(f"Next:\n  orchestrate run {plan} --phase {options.phase}")
    return EXIT_OK


def _specs(titles: tuple[str, ...], source: Path | None, fmt: str) -> list[RowSpec]:
    specs = from_titles(titles)
    if source is not None and str(source) == "-":
        specs += parse_source(sys.stdin.read(), "<stdin>", fmt)
    elif source is not None:
        specs += read_source(source, fmt)
    elif not titles and not stdin_is_terminal():
        specs += parse_source(sys.stdin.read(), "<stdin>", fmt)
    if not specs:
        raise BadInputError("no rows to add", hint="give titles as arguments, --from FILE, or pipe one title a line")
    return specs


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN_TITLE else f"{text[: _SHOWN_TITLE - 3]}... ({len(text)} characters)"


def _print_rows(planned: list[PlannedRow], verb: str) -> None:
    click.echo(f"{verb} {len(planned)} row(s):")
    for row in planned:
        click.echo(f"  #{row.id}  {_short(row.spec.title)}")
        click.echo(f"        -> {row.filename}, {row.model}: {row.how}")
        extras = ", ".join(f"{k}: {_short(v)}" for k, v in row.extras if v)
        if extras:
            click.echo(f"        details: {extras}")
        if row.note:
            click.echo(f"        note: {row.note}")


def _print_uncompiled(plan: Plan, table: ModelTable) -> None:
    rules = compile_model_rules(plan.model_rules, table)
    partial = [r for r in rules.conditions if r.unread]
    if not rules.uncompiled and not partial:
        return
    click.echo("Model Selection Rules not (fully) compiled; rows they may govern get the default:")
    for item in rules.uncompiled:
        click.echo(f"  {plan.path}:{item.item.line}: {item.item.text}\n      not compiled: {item.reason}")
    for rule in partial:
        unread = ", ".join(repr(u) for u in rule.unread)
        click.echo(f"  {plan.path}:{rule.item.line}: {rule.item.text}\n      not understood: {unread}")


def _classify(plan: Plan, specs: list[RowSpec], planned: list[PlannedRow], table: ModelTable, model: str,
              provider: str | None, yes: bool) -> dict[int, Classified]:
    from orchestrator.authoring.classify_run import classify_rows
    from orchestrator.cli.terminal import ask_yes_no

    def ask(question: str) -> bool:
        return ask_yes_no(question, consequence="nothing was asked or written",
                          hint="review the estimate above, then pass --yes to classify without asking")

    return classify_rows(plan, specs, planned, table, model, provider, yes=yes,
                         interactive=stdin_is_terminal(), ask=ask)
