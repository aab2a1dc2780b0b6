"""``init-claude``: install the ``/batch-pipeline`` slash command for Claude Code.

The command file's body follows the /batch-pipeline command's execution directive, but every
step is an ``orchestrate`` command, so what the agent does and what the CLI
does are the same thing: the agent checks the batch id and stage, shows the
estimate and asks before PROCESS (passing ``--yes`` only after the user
agrees, since Claude Code's shell has no terminal to ask on), then runs the
stage and reports the CLI's own summary.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.errors import BadInputError
from orchestrator.pipeline.store.checkpoints import write_text
from orchestrator.plan.check import file_in_the_way

COMMAND_PATH = Path(".claude") / "commands" / "batch-pipeline.md"

COMMAND_BODY = """\
---
description: Manage staged LLM batch processing pipelines with checkpointing, \
cost estimation, and parallel execution.
argument-hint: <stage> --batch-id <id> [--limit N] [--workers N] [--model M] [--clean-stage STAGE]
allowed-tools: Bash(orchestrate:*)
---

Run the batch pipeline stage requested in: $ARGUMENTS

Stages: acquire, prepare, process, parse, render, all, estimate, clean.
Every stage is the `orchestrate` command of the same name with the same
options, so run `orchestrate $ARGUMENTS` and nothing else.

EXECUTION DIRECTIVE — you MUST:
1. Verify a batch id is given (`--batch-id ID`, or a plan path and `--phase N`
   for a new batch). If not, stop and ask for it.
2. Confirm the stage is one of the stages above. If not, stop and say so.
3. For `process` and `all` (they call the model and cost money): first run
   `orchestrate estimate` with the same arguments, leaving out the stage name
   and `--yes`, `--max-cost` and `--repair-attempts`, and the Message Batches
   options `--no-wait`, `--repair-online`, `--max-attempts`, `--retry-exhausted`,
   `--batch-max-requests` and `--batch-max-bytes`, and `--keep-sessions`
   (estimate does not take them), show the estimate to the user and ask "Proceed with processing? [y/N]".
   Only if the user answers yes, run `orchestrate $ARGUMENTS --yes`.
   Never add `--yes` without that answer.
4. For `clean`: run it without `--yes` first to list what would be deleted,
   show the list, and add `--yes` only after the user agrees.
5. For every other stage, run `orchestrate $ARGUMENTS`.
6. Report the command's own summary (progress, metrics, BATCH COMPLETE or
   COMMAND COMPLETE block, next steps) exactly as printed.

DO NOT skip the confirmation for process, proceed with an invalid batch id,
or hide a non-zero exit code: exit 1 means some items failed (the summary
says which and how to rerun them), exit 2 means bad input (the message says
what to fix).
"""


def install_command(directory: Path, *, force: bool = False) -> Path:
    """Write ``DIR/.claude/commands/batch-pipeline.md``; refuse to overwrite unless ``force``."""
    target = directory / COMMAND_PATH
    blocker = file_in_the_way(target.parent)
    if blocker is not None:
        raise BadInputError(f"is a file, so the folder {target.parent} cannot be created", path=blocker,
                            hint="pass the project folder (where .claude/ belongs), or move that file away")
    if target.is_dir():
        raise BadInputError(f"{target} is a folder", path=target, hint="remove or rename that folder first")
    if target.exists() and not force and target.read_bytes() != COMMAND_BODY.encode("utf-8"):
        raise BadInputError(f"{target} already exists", path=target, hint="pass --force to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    write_text(target, COMMAND_BODY)
    return target
