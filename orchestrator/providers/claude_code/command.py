"""The exact command line and environment of one headless ``claude`` agent (pure).

Isolation, flag by flag:

- ``--system-prompt``: ours (a few sentences) instead of Claude Code's own;
- ``--tools Read,Write``: the only tools the model is offered (no shell, web,
  agents, skills or MCP tools), and ``--permission-mode dontAsk`` with
  ``--allowedTools`` rules so that, of those, only reading the format
  reference (and files in the Output Directory) and writing inside the
  Output Directory are allowed; everything else is refused without a prompt;
- ``--setting-sources ""``: none of the user's or project's settings, hooks
  or CLAUDE.md files;
- ``--strict-mcp-config --mcp-config '{"mcpServers":{}}'``: no MCP servers;
- ``--max-turns`` and ``--max-budget-usd``: a per-row cap on turns and spend;
- ``--output-format stream-json --verbose``: one JSON event per line, which
  the watchdog reads to know the agent is alive.

Sessions are persisted (a repair resumes the row's session with ``--resume``)
and deleted when the provider closes, unless ``keep_sessions``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass

from orchestrator.providers.claude_code.request import SYSTEM_PROMPT, AgentTask

#: Environment the agent always gets: no telemetry, no update checks, no
#: retries of its own (the dispatcher retries, sharing one cool-down).
QUIET_ENV = {
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_MAX_RETRIES": "0",
}
#: Variables never passed on: they would change the agent's tools or settings.
DROPPED_ENV = ("CLAUDECODE", "CLAUDE_CODE_ENTRYPOINT", "CLAUDE_CODE_SSE_PORT", "MCP_CONFIG")
EMPTY_MCP_CONFIG = json.dumps({"mcpServers": {}}, separators=(",", ":"))


@dataclass(frozen=True)
class AgentLimits:
    """Per-row limits: the CLI's own caps, and our watchdog's."""

    max_turns: int = 8
    max_budget_usd: float = 1.0
    idle_timeout_s: float = 120.0  # no event on the stream for this long: kill
    row_timeout_s: float = 900.0  # wall clock per agent run: kill


def allowed_tools(task: AgentTask) -> list[str]:
    """Permission rules: read the reference and the Output Directory, write only inside it.

    Claude Code's file rules take ``//`` for an absolute path, and ``Edit``
    rules cover every file-writing tool, Write included.
    """
    out_dir = task.output_dir.as_posix().rstrip("/")
    return [f"Read(/{task.reference_path.as_posix()})", f"Read(/{out_dir}/**)", f"Edit(/{out_dir}/**)"]


def agent_argv(
    cli: str,
    task: AgentTask,
    model: str,
    limits: AgentLimits,
    *,
    resume: str | None = None,
) -> list[str]:
    """The command line of one agent run (``resume``: continue that session).

    The prompt is not on it: it goes to the agent's standard input, which
    ``-p`` reads when no prompt argument is given (no argument-length limit,
    and no prompt text in a process listing).
    """
    argv = [
        cli,
        "-p",
        "--output-format",
        "stream-json",
        "--verbose",
        "--model",
        model,
        "--system-prompt",
        SYSTEM_PROMPT,
        "--tools",
        "Read,Write",
        "--permission-mode",
        "dontAsk",
        "--allowedTools",
        *allowed_tools(task),
        "--setting-sources",
        "",
        "--strict-mcp-config",
        "--mcp-config",
        EMPTY_MCP_CONFIG,
        "--max-turns",
        str(limits.max_turns),
        "--max-budget-usd",
        f"{limits.max_budget_usd:g}",
    ]
    if resume:
        argv += ["--resume", resume]
    return argv


def agent_env(env: Mapping[str, str]) -> dict[str, str]:
    """The agent's environment: the caller's, quietened, without variables that reconfigure it."""
    out = {k: v for k, v in env.items() if k not in DROPPED_ENV}
    out.update(QUIET_ENV)
    return out
