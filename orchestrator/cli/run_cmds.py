"""The batch pipeline's commands: run/all, the five stages, estimate, clean, init-claude.

Thin by design: each command turns its options into
:class:`orchestrator.pipeline.session.Options` and calls the pipeline, which
prints and returns the exit code. See docs/cli-pipeline.md.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from orchestrator.errors import EXIT_OK
from orchestrator.pipeline.store.batch import STAGES

F = TypeVar("F", bound=Callable[..., Any])

#: appended to a command's help: the blank line first, so click sees ``\b`` open its own
#: paragraph and prints the examples one per line instead of rewrapping them
_EXAMPLE = """

\b
Examples:
  orchestrate {name} plans/glossary.md --phase 1 --provider sim{yes}
  orchestrate {name} --batch-id glossary-phase1{yes}
"""


def _common(func: F) -> F:
    """Options every pipeline command takes (the /batch-pipeline command's, plus where the batch lives)."""
    decorators = [
        click.argument("plan", required=False, type=click.Path(path_type=Path)),
        click.option("--phase", type=click.IntRange(min=1), help="Phase number (for a new batch)."),
        click.option("--batch-id", help="Batch name; default <plan-stem>-phase<N>."),
        click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder holding batch folders; default data/ beside the plan."),
        click.option("--limit", type=click.IntRange(min=1), help="(Re)do at most N items per stage."),
        click.option("--workers", type=click.IntRange(min=1), help="Parallel calls (default 5)."),
        click.option("--model", help="Use this model for every row (saved with the batch)."),
        click.option("--provider", help="anthropic, sim, ... (default: anthropic when a key is set)."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout."),
        click.option("--trust-plan", is_flag=True, help="Allow the plan's lint command to run."),
        click.option("--wait", is_flag=True, help="Wait for another run's plan lock."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def _spending(func: F) -> F:
    """Options of the commands that may call the model."""
    decorators = [
        click.option("--repair-attempts", type=click.IntRange(min=0),
                     help="Repair turns per row after a failed validation (default 2)."),
        click.option("--max-cost", type=click.FloatRange(min=0),
                     help="Stop new calls once this run has spent USD."),
        click.option("--yes", "-y", is_flag=True, help="Process without asking for confirmation."),
        click.option("--no-wait", is_flag=True,
                     help="anthropic-batch: submit and return; a later run/process collects."),
        click.option("--repair-online", is_flag=True,
                     help="anthropic-batch: send repair turns online instead of in a follow-up batch."),
        click.option("--max-attempts", type=click.IntRange(min=1),
                     help="anthropic-batch: failed validations per row, over all runs, before it "
                     "needs attention (default 5)."),
        click.option("--retry-exhausted", is_flag=True,
                     help="anthropic-batch: dispatch rows that used up --max-attempts again."),
        click.option("--batch-max-requests", type=click.IntRange(min=1),
                     help="anthropic-batch: requests per batch (default 100,000)."),
        click.option("--batch-max-bytes", type=click.IntRange(min=1),
                     help="anthropic-batch: bytes per batch (default 256,000,000)."),
        click.option("--keep-sessions", is_flag=True,
                     help="claude-code: keep each agent's session (for claude --resume) instead of deleting it."),
    ]
    for decorator in reversed(decorators):
        func = decorator(func)
    return func


def stdin_is_terminal() -> bool:
    """Whether a person can answer a question (tests replace this)."""
    return sys.stdin.isatty()


def _session(command: str, **options: Any) -> Any:
    from orchestrator.cli.terminal import confirmer
    from orchestrator.pipeline.session import Options, Session, Terminal

    as_json = bool(options.get("as_json"))
    ask = confirmer(  # y proceeds; n is exit 2 (not confirmed); Ctrl-C is exit 130
        consequence="nothing was deleted" if command == "clean" else "nothing was dispatched",
        hint="answer y to proceed, or pass --yes to proceed without being asked",
        to_stderr=as_json,
    )
    term = Terminal(
        out=sys.stdout,
        err=sys.stderr,
        interactive=stdin_is_terminal(),
        live=sys.stdout.isatty(),
        ask=ask,
    )
    known = Options.__dataclass_fields__
    return Session(command, Options(**{k: v for k, v in options.items() if k in known}), term)


def _all(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text + _EXAMPLE.format(name=name, yes=" --yes"))
    @_common
    @_spending
    def command(**options: Any) -> int:
        from orchestrator.pipeline.driver import run_process

        return int(run_process(_session(name, **options), everything=True))

    return command


run_cmd = _all(
    "run",
    "Run every stage for PLAN's phase: acquire, prepare, process (the model calls), "
    "parse and render. Only pending rows are dispatched; a response already received "
    "is never paid for twice.",
)
all_cmd = _all("all", "Run all stages of a batch in order: the same as `orchestrate run`.")


@click.command("process", help="Stage 3: call the model for each pending item (spends money)."
               + _EXAMPLE.format(name="process", yes=" --yes"))
@_common
@_spending
def process_cmd(**options: Any) -> int:
    from orchestrator.pipeline.driver import run_process

    return int(run_process(_session("process", **options), everything=False))


def _stage(name: str, help_text: str) -> click.Command:
    @click.command(name, help=help_text + _EXAMPLE.format(name=name, yes=""))
    @_common
    def command(**options: Any) -> int:
        from orchestrator.pipeline.driver import run_simple

        return int(run_simple(_session(name, **options), name))

    return command


acquire_cmd = _stage("acquire", "Stage 1: write each pending row's raw.json (cells and plan context).")
prepare_cmd = _stage("prepare", "Stage 2: write each item's prompt.md from its raw.json.")
parse_cmd = _stage("parse", "Stage 4: parse and validate responses, write outputs, record rows.")
render_cmd = _stage("render", "Stage 5: write the batch's self-contained index.html report.")


@click.command("estimate", help="Estimate the tokens and cost PROCESS would spend; spends nothing."
               + _EXAMPLE.format(name="estimate", yes=""))
@_common
def estimate_cmd(**options: Any) -> int:
    from orchestrator.pipeline.driver import run_estimate

    return int(run_estimate(_session("estimate", **options)))


@click.command("clean")
@click.argument("plan", required=False, type=click.Path(path_type=Path))
@click.option("--phase", type=click.IntRange(min=1), help="Phase number (with PLAN).")
@click.option("--batch-id", help="The batch to clean.")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Folder holding batch folders; default data/ beside the plan.")
@click.option("--clean-stage", required=True, type=click.Choice(STAGES),
              help="Remove this stage's checkpoints and every later one.")
@click.option("--yes", "-y", is_flag=True, help="Delete without asking.")
@click.option("--json", "as_json", is_flag=True, help="Print what was deleted as JSON.")
@click.option("--wait", is_flag=True, help="Wait for another run's plan lock.")
def clean_cmd(clean_stage: str, **options: Any) -> int:
    """Remove a stage's checkpoints and every later one, so they are redone.

    Cleaning parse or an earlier stage also deletes the outputs the batch
    wrote and sets those rows back to pending. Lists what it will delete and
    asks first (or --yes).

    \b
    Example:
      orchestrate clean --batch-id glossary-phase1 --clean-stage process
    """
    from orchestrator.pipeline.driver import run_clean

    return int(run_clean(_session("clean", **options), clean_stage))


@click.command("init-claude")
@click.argument("directory", required=False, default=".", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace an existing batch-pipeline.md.")
def init_claude_cmd(directory: Path, force: bool) -> int:
    """Install the /batch-pipeline slash command for Claude Code into DIRECTORY.

    Writes DIRECTORY/.claude/commands/batch-pipeline.md, whose body runs
    `orchestrate <stage> $ARGUMENTS` with the same stages and options.

    \b
    Example:
      orchestrate init-claude .
    """
    from orchestrator.pipeline.slash_command import install_command

    path = install_command(directory, force=force)
    click.echo(f"wrote {path}")
    click.echo("In Claude Code: /batch-pipeline estimate --batch-id ID  (or acquire, process, ...)")
    return EXIT_OK
