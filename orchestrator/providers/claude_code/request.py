"""What a row's agent is told: the metadata the driver passes, and the prompts built from it.

Pure: no I/O. The pipeline driver calls :func:`agent_metadata` once per row
and puts the result in ``CallRequest.metadata``; the provider turns it into
the agent's first prompt (:func:`agent_prompt`) and, for a repair, the
follow-up (:func:`repair_prompt`).

The first prompt is the resolved DISPATCH prompt of the *AI Batch Generation
Pipeline Template* (from the one prompt builder, with the plan's own relative
paths), followed by the same two paths made absolute: the agent's Read and
Write tools take absolute paths, and the plan's folder is its working
directory. The system prompt is short and the same for every row, so the
prompt cache holds it (and the two tool definitions) across rows.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from orchestrator.plan.model import Plan, Row
from orchestrator.prompts import dispatch_prompt, plan_paths

#: Keys of ``CallRequest.metadata`` that the ``claude-code`` provider reads.
DISPATCH_PROMPT = "dispatch_prompt"
OUTPUT_PATH = "output_path"
OUTPUT_DIR = "output_dir"
CWD = "cwd"
REFERENCE_PATH = "reference_path"
ITEM = "item"
REQUIRED_KEYS = (DISPATCH_PROMPT, OUTPUT_PATH, CWD, REFERENCE_PATH, ITEM)

#: The agent's whole system prompt (replacing Claude Code's own, about 26,000 tokens).
SYSTEM_PROMPT = (
    "You are a headless agent that writes exactly one file of a batch of generated documents. "
    "Use the Read tool to read the format reference you are given, then use the Write tool once "
    "to write the complete document to the output file's absolute path. Copy the reference's front "
    "matter keys, section headings and their order, and its style, but write about your own topic. "
    "Write no other file, ask no questions, and when the file is written reply with one short line."
)


@dataclass(frozen=True)
class AgentTask:
    """The metadata of one row, read back and checked."""

    dispatch_prompt: str
    output_path: Path
    output_dir: Path
    cwd: Path
    reference_path: Path
    item: str


def agent_metadata(plan: Plan, row: Row, item: str) -> dict[str, str]:
    """The ``CallRequest.metadata`` the ``claude-code`` provider needs for ``row``.

    ``item`` is the row's unique key in the batch (the provider keeps one
    session per item, for repairs). The DISPATCH prompt is unwrapped (one
    line): its line breaks are only for a person's terminal.
    """
    reference = plan.format_reference_path()
    out_dir = plan.output_dir_path()
    if reference is None or out_dir is None:
        raise ValueError("the plan needs a Format Reference and an Output Directory (run `orchestrate check`)")
    prompt = dispatch_prompt(plan, row, plan_paths(plan))
    return {
        DISPATCH_PROMPT: " ".join(prompt.split("\n")),
        OUTPUT_PATH: os.fspath(plan.output_path(row)),
        OUTPUT_DIR: os.fspath(out_dir),
        CWD: os.fspath(plan.base_dir),
        REFERENCE_PATH: os.fspath(reference),
        ITEM: item,
    }


def read_task(metadata: dict[str, str]) -> AgentTask:
    """The row's :class:`AgentTask`; ``ValueError`` names a missing or relative path."""
    missing = [key for key in REQUIRED_KEYS if not metadata.get(key)]
    if missing:
        raise ValueError(f"CallRequest.metadata lacks {', '.join(missing)} (build it with agent_metadata)")
    paths = {key: Path(metadata[key]) for key in (OUTPUT_PATH, CWD, REFERENCE_PATH)}
    relative = [key for key, path in paths.items() if not path.is_absolute()]
    if relative:
        raise ValueError(f"CallRequest.metadata paths must be absolute: {', '.join(relative)}")
    output = paths[OUTPUT_PATH]
    out_dir = Path(metadata.get(OUTPUT_DIR) or output.parent)
    return AgentTask(metadata[DISPATCH_PROMPT], output, out_dir, paths[CWD], paths[REFERENCE_PATH], metadata[ITEM])


def agent_prompt(task: AgentTask) -> str:
    """The agent's first message: the DISPATCH prompt, then the two absolute paths."""
    return (
        f"{task.dispatch_prompt}\n\n"
        f"Format reference (absolute path): {task.reference_path}\n"
        f"Output file (absolute path): {task.output_path}\n"
    )


def repair_prompt(task: AgentTask, repair_message: str) -> str:
    """A repair turn: the validator's messages, and where to write the whole file again."""
    return (
        f"{repair_message}\n\n"
        f"Write the corrected, complete file to {task.output_path} with the Write tool "
        "(replacing it), and write no other file.\n"
    )


def replay_prompt(task: AgentTask, draft: str, repair_message: str) -> str:
    """A repair without the earlier session (lost or never kept): the draft is quoted instead."""
    return (
        f"{agent_prompt(task)}\n"
        f"An earlier draft of this file was:\n<draft>\n{draft}\n</draft>\n\n"
        f"{repair_prompt(task, repair_message)}"
    )
