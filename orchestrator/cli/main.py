"""The ``orchestrate`` command: a thin click layer and the one error boundary.

Subcommands live in their own modules and are imported only when invoked, so
``orchestrate status`` and ``orchestrate check`` never import the SDK or the
async machinery. To add a command, add one line to :data:`COMMANDS`.
"""

from __future__ import annotations

import atexit
import contextlib
import importlib
import os
import sys
from typing import Any

import click

from orchestrator import __version__
from orchestrator.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, OrchestratorError
from orchestrator.pipeline import collector

#: command name -> ("module:attribute", one-line help shown by ``orchestrate --help``)
COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("orchestrator.cli.plan_cmds:init_cmd", "Copy the example plan and format reference into a folder."),
    "new": ("orchestrator.cli.author_cmds:new_cmd", "Write a new plan whose rules come from a format reference."),
    "add": ("orchestrator.cli.author_cmds:add_cmd", "Add rows to a phase; models chosen by the plan's rules."),
    "check": ("orchestrator.cli.plan_cmds:check_cmd", "Report every problem in a plan, as file:line."),
    "status": ("orchestrator.cli.plan_cmds:status_cmd", "Count and list a plan's rows by status."),
    "prompt": ("orchestrator.cli.plan_cmds:prompt_cmd", "Print the resolved orchestrator or DISPATCH prompt."),
    "explain": ("orchestrator.cli.validate_cmds:explain_cmd", "Show what each content rule and checklist line became."),
    "validate": ("orchestrator.cli.validate_cmds:validate_cmd", "Check existing output files against the plan."),
    "doctor": ("orchestrator.cli.doctor_cmds:doctor_cmd", "Check a plan can run here: key, API, linters (free)."),
    "run": ("orchestrator.cli.run_cmds:run_cmd", "Dispatch every pending row of a phase (all stages)."),
    "all": ("orchestrator.cli.run_cmds:all_cmd", "Run every stage of a batch: the same as run."),
    "acquire": ("orchestrator.cli.run_cmds:acquire_cmd", "Stage 1: write each row's raw.json."),
    "prepare": ("orchestrator.cli.run_cmds:prepare_cmd", "Stage 2: write each row's prompt.md."),
    "process": ("orchestrator.cli.run_cmds:process_cmd", "Stage 3: call the model for each row (spends money)."),
    "parse": ("orchestrator.cli.run_cmds:parse_cmd", "Stage 4: parse and validate responses, write outputs."),
    "render": ("orchestrator.cli.run_cmds:render_cmd", "Stage 5: write the batch's index.html report."),
    "estimate": ("orchestrator.cli.run_cmds:estimate_cmd", "Estimate tokens and cost before processing."),
    "clean": ("orchestrator.cli.run_cmds:clean_cmd", "Remove a stage's checkpoints and every later one."),
    "init-claude": (
        "orchestrator.cli.run_cmds:init_claude_cmd",
        "Install the /batch-pipeline slash command for Claude Code.",
    ),
    "batches": ("orchestrator.cli.batches_cmds:batches_group", "List, check or cancel a plan's Message Batches."),
    "sim": ("orchestrator.sim.cli:sim_group", "Run the local API simulator."),
}


class LazyGroup(click.Group):
    """A group that imports a subcommand's module only when that command runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target[0].split(":")
        command = getattr(importlib.import_module(module_name), attr)
        assert isinstance(command, click.Command)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, COMMANDS[name][1]) for name in self.list_commands(ctx)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orchestrate")
def cli() -> None:
    """Run a markdown plan of LLM document-generation tasks.

    \b
    Example:
      orchestrate init demo
      orchestrate check demo/plans/glossary.md
      orchestrate run demo/plans/glossary.md --phase 1 --provider sim --yes
    """


def _usage_hint(exc: click.ClickException) -> str:
    """Where to read the right usage: the failing command's own --help."""
    ctx = exc.ctx if isinstance(exc, click.UsageError) else None
    if ctx is None or isinstance(ctx.command, click.Group):
        return f"`{ctx.command_path if ctx else 'orchestrate'} --help` lists the commands"
    return f"`{ctx.command_path} --help` lists the arguments, options and their accepted values"


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI and turn our errors into messages and exit codes.

    Commands report their outcome by returning (or ``ctx.exit``-ing with) an
    exit code; errors of our own tree are printed once, here.
    """
    try:
        result: Any = cli.main(args=argv, prog_name="orchestrate", standalone_mode=False)
    except OrchestratorError as exc:
        click.echo(f"error: {exc.render()}", err=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort as exc:
        if isinstance(exc.__cause__ or exc.__context__, KeyboardInterrupt):  # click turns Ctrl-C into Abort
            click.echo("Interrupted.", err=True)
            sys.exit(EXIT_INTERRUPTED)
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}\n  hint: {_usage_hint(exc)}", err=True)
        sys.exit(EXIT_BAD_INPUT if exc.exit_code == 2 else exc.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(EXIT_INTERRUPTED)
    sys.exit(result if isinstance(result, int) else 0)


def entry() -> None:
    """The ``orchestrate`` executable (and ``python -m orchestrator``): :func:`main`, then a quick exit.

    After a 1,000-row run the interpreter took 0.65 s to free every object it
    had made before the process could end, time a user waits for and nothing
    needs: when :func:`main` returns, every file the command wrote is closed
    and in place (the writer thread drained, the recorder done, the plan's
    lock released). So the exit handlers run, stdout and stderr are flushed,
    and the process ends. In-process callers (the tests) call :func:`main`.
    """
    collector.for_command()
    try:
        main()
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe (``| head``): nothing left to say
            stream.flush()
    os._exit(code)


def _exit_code(code: object) -> int:
    """What ``sys.exit(code)`` would have ended the process with."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
