"""The ``claude-code`` provider: each call runs one headless Claude Code agent for one row.

The agent gets the row's resolved DISPATCH prompt, the plan's folder as its
working directory, and only the Read and Write tools (see
:mod:`~orchestrator.providers.claude_code.command` for every isolation
flag). It reads the format reference and writes the row's output file; the
provider returns that file's text as ``CallResult.text`` and puts the path
back as it was, so the pipeline validates, writes and records it exactly like
an API answer. The agent's own report ("done") is never taken as proof.

A repair (the request's turns end with a repair message) resumes the row's
session with ``--resume``; with no session to resume (an earlier run's, or a
killed one) a fresh agent is shown its draft and the validator's messages.

Settings (options of :meth:`ClaudeCodeProvider.create`, or environment):
``cli_path`` / ``ORCHESTRATE_CLAUDE_PATH``, ``keep_sessions`` /
``ORCHESTRATE_CLAUDE_KEEP_SESSIONS=1``, ``max_turns`` /
``ORCHESTRATE_CLAUDE_MAX_TURNS``, ``max_budget_usd`` /
``ORCHESTRATE_CLAUDE_MAX_BUDGET_USD``, ``idle_timeout_s`` /
``ORCHESTRATE_CLAUDE_IDLE_TIMEOUT_S``, ``row_timeout_s`` /
``ORCHESTRATE_CLAUDE_ROW_TIMEOUT_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

from orchestrator.errors import BadRequest, ConfigError, ProviderError
from orchestrator.providers.base import CallRequest, CallResult, Provider
from orchestrator.providers.claude_code.command import AgentLimits, agent_argv, agent_env
from orchestrator.providers.claude_code.events import result_usage
from orchestrator.providers.claude_code.files import OutputGuard, Stray
from orchestrator.providers.claude_code.outcome import check_finished, session_note
from orchestrator.providers.claude_code.request import (
    AgentTask,
    agent_prompt,
    read_task,
    repair_prompt,
    replay_prompt,
)
from orchestrator.providers.claude_code.runner import Finished, run_agent
from orchestrator.providers.claude_code.runtime import PATH_VARIABLE, find_cli

_ENV_PREFIX = "ORCHESTRATE_CLAUDE_"
_NUMBERS: dict[str, type[int] | type[float]] = {
    "max_turns": int,
    "max_budget_usd": float,
    "idle_timeout_s": float,
    "row_timeout_s": float,
}


def settings_from_env(env: Mapping[str, str], options: dict[str, Any]) -> dict[str, Any]:
    """``options`` completed from ``ORCHESTRATE_CLAUDE_*``; a bad number is a :class:`ConfigError`."""
    out = dict(options)
    out.setdefault("cli_path", env.get(PATH_VARIABLE) or None)
    keep = env.get(_ENV_PREFIX + "KEEP_SESSIONS", "").strip().lower()
    out.setdefault("keep_sessions", keep in ("1", "true", "yes", "on"))
    for name, kind in _NUMBERS.items():
        variable = _ENV_PREFIX + name.upper()
        raw = (env.get(variable) or "").strip()
        if name in out or not raw:
            continue
        try:
            value = kind(raw)
        except ValueError:
            value = 0
        if not value > 0:
            raise ConfigError(f"{variable}={raw!r} is not a positive number",
                              hint=f"set {variable} to a positive number, or unset it for the default")
        out[name] = value
    return out


class ClaudeCodeProvider(Provider):
    """Runs the ``claude`` CLI headless, one agent per call, under a watchdog."""

    runs_agents = True

    name = "claude-code"

    def __init__(
        self,
        cli_path: str | None = None,
        *,
        env: Mapping[str, str] | None = None,
        keep_sessions: bool = False,
        max_turns: int = AgentLimits.max_turns,
        max_budget_usd: float = AgentLimits.max_budget_usd,
        idle_timeout_s: float = AgentLimits.idle_timeout_s,
        row_timeout_s: float = AgentLimits.row_timeout_s,
    ) -> None:
        source = dict(os.environ if env is None else env)
        self.cli = find_cli(source, cli_path)
        self._env = agent_env(source)
        self.keep_sessions = keep_sessions
        self.limits = AgentLimits(max_turns, max_budget_usd, idle_timeout_s, row_timeout_s)
        self._sessions: dict[str, str] = {}  # item -> its latest session id
        self._started: set[str] = set()  # every session this provider started

    @classmethod
    def create(cls, env: Mapping[str, str], **options: Any) -> Self:
        return cls(env=env, **settings_from_env(env, options))

    @classmethod
    def check_env(cls, env: Mapping[str, str]) -> None:
        settings = settings_from_env(env, {})
        find_cli(env, settings["cli_path"])

    def session_of(self, item: str) -> str | None:
        """The latest session of ``item`` (what a repair resumes)."""
        return self._sessions.get(item)

    async def call(self, request: CallRequest) -> CallResult:
        try:
            task = read_task(request.metadata)
        except ValueError as exc:
            raise BadRequest(str(exc), hint="the pipeline must build the metadata with agent_metadata()") from None
        prompt, resume = self._prompt(task, request)
        argv = agent_argv(str(self.cli), task, request.model, self.limits, resume=resume)
        guard = await asyncio.to_thread(OutputGuard.take, task.output_path, task.output_dir)
        try:
            done = await run_agent(argv, cwd=task.cwd, env=self._env, prompt=prompt, limits=self.limits)
            text, strays = await asyncio.to_thread(_inspect, guard, task, done)
        finally:
            await asyncio.to_thread(guard.restore)  # also when cancelled: leave no half answer
        return self._result(task, request, done, text, strays)

    def _prompt(self, task: AgentTask, request: CallRequest) -> tuple[str, str | None]:
        turns = request.turns
        if len(turns) < 3:
            return agent_prompt(task), None
        session = self._sessions.get(task.item)
        if session is not None:
            return repair_prompt(task, turns[-1].text), session
        return replay_prompt(task, turns[-2].text, turns[-1].text), None

    def _result(
        self, task: AgentTask, request: CallRequest, done: Finished, text: str | None, strays: list[Stray]
    ) -> CallResult:
        run = done.run
        if run.session_id:
            self._sessions[task.item] = run.session_id
            self._started.add(run.session_id)
        note = session_note(run.session_id, self.keep_sessions)
        if strays:
            listed = "; ".join(s.describe() for s in strays)
            raise ProviderError(
                f"the agent wrote files other than {task.output_path}: {listed}{note}",
                hint="a row's agent may write only its own output file; files it created were removed",
            )
        result = check_finished(done, sessions_kept=self.keep_sessions)
        if text is None:
            raise ProviderError(
                f"the agent ended without writing {task.output_path}{note}",
                hint="its last words were: " + str(result.get("result") or "")[:200],
            )
        cost = result.get("total_cost_usd")
        turns = result.get("num_turns")
        return CallResult(
            text=text,
            stop_reason="end_turn",
            usage=result_usage(result),
            model=request.model,
            latency_s=done.elapsed_s,
            session_id=run.session_id,
            num_turns=turns if isinstance(turns, int) else None,
            client_cost_usd=float(cost) if isinstance(cost, int | float) else None,
            startup_s=run.startup_s,
            cost_is_estimate=True,
        )

    async def aclose(self) -> None:
        """Delete the transcripts of the sessions this provider started, unless ``keep_sessions``."""
        if not self.keep_sessions and self._started:
            await asyncio.to_thread(delete_sessions, self._started, self._env)
            self._started.clear()


def _inspect(guard: OutputGuard, task: AgentTask, done: Finished) -> tuple[str | None, list[Stray]]:
    """The output file's text (None: not written, or the agent was killed) and the stray writes."""
    writes = done.run.writes
    target = os.path.realpath(task.output_path)
    wrote = any(os.path.realpath(task.cwd / w) == target for w in writes)
    strays = guard.strays(writes, task.cwd)
    return (guard.read(wrote=wrote) if done.killed is None else None), strays


def delete_sessions(session_ids: set[str], env: Mapping[str, str]) -> int:
    """Remove ``<config>/projects/*/<id>.jsonl`` (and ``<id>/``) for each id; the count removed."""
    config = Path(env.get("CLAUDE_CONFIG_DIR") or Path(env.get("HOME") or Path.home()) / ".claude")
    removed = 0
    for session in session_ids:
        for path in config.glob(f"projects/*/{session}.jsonl"):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed
