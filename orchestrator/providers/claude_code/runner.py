"""One agent process under a watchdog.

Headless agents can hang (anthropics/claude-agent-sdk-python#701: a query
that never yields its result; anthropics/claude-code#89124: a hung subagent),
so nothing here waits without a limit: each line of the event stream must
come within ``idle_timeout_s`` of the last, and the whole run must end
within ``row_timeout_s``. Past either, the agent's whole process group (it
was started in a session of its own, so its children are in it) gets SIGTERM,
then SIGKILL two seconds later. Cancelling the call (Ctrl-C after the
dispatcher's grace period) kills the group the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from orchestrator.providers.claude_code.command import AgentLimits
from orchestrator.providers.claude_code.events import AgentRun

#: One event line can hold a whole document (the Write call's content).
_LINE_LIMIT = 64 * 1024 * 1024
_STDERR_TAIL = 4000
_TERM_GRACE_S = 2.0
_EXIT_WAIT_S = 10.0


@dataclass
class Finished:
    """How the process ended, and what its stream showed."""

    run: AgentRun
    returncode: int | None
    stderr: str
    killed: str | None  # why the watchdog killed it; None when it ended by itself
    elapsed_s: float


async def run_agent(
    argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], prompt: str, limits: AgentLimits
) -> Finished:
    """Run ``argv`` with ``prompt`` on its standard input; never longer than the limits allow."""
    started = time.monotonic()
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=dict(env),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
        limit=_LINE_LIMIT,
    )
    run = AgentRun()
    stderr = asyncio.ensure_future(_tail(proc.stderr))
    killed: str | None = None
    try:
        await _send(proc, prompt)
        killed = await _watch(proc, run, started, limits)
        if killed is None:
            try:
                await asyncio.wait_for(proc.wait(), _EXIT_WAIT_S)
            except TimeoutError:
                killed = f"the agent closed its output but did not exit within {_EXIT_WAIT_S:g} s"
        if killed is not None:
            await _kill_group(proc)
    except BaseException:  # cancelled, or a bug: never leave the agent running
        await asyncio.shield(_kill_group(proc))
        stderr.cancel()
        raise
    _signal_group(proc.pid, signal.SIGKILL)  # stragglers the agent left in its group
    try:
        text = await asyncio.wait_for(stderr, _EXIT_WAIT_S)
    except TimeoutError:
        text = ""
    return Finished(run, proc.returncode, text, killed, time.monotonic() - started)


async def _send(proc: asyncio.subprocess.Process, prompt: str) -> None:
    assert proc.stdin is not None
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        proc.stdin.write(prompt.encode("utf-8"))
        await proc.stdin.drain()
    proc.stdin.close()


async def _watch(proc: asyncio.subprocess.Process, run: AgentRun, started: float, limits: AgentLimits) -> str | None:
    """Feed ``run`` every line until the stream ends (None) or a limit is passed (the reason)."""
    assert proc.stdout is not None
    last = started
    while True:
        now = time.monotonic()
        wall_left = started + limits.row_timeout_s - now
        idle_left = last + limits.idle_timeout_s - now
        if wall_left <= 0:
            return f"the agent ran longer than the per-row limit of {limits.row_timeout_s:g} s"
        if idle_left <= 0:
            return f"the agent sent no event for {limits.idle_timeout_s:g} s (idle timeout)"
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), min(wall_left, idle_left))
        except TimeoutError:
            continue  # the loop names the limit that passed
        except ValueError:  # a line over the limit: count it, keep reading
            run.unreadable += 1
            line = b"\n"
        if not line:
            return None
        last = time.monotonic()
        run.feed(line, last - started)


async def _tail(stream: asyncio.StreamReader | None) -> str:
    if stream is None:
        return ""
    kept = b""
    while chunk := await stream.read(65536):
        kept = (kept + chunk)[-_STDERR_TAIL:]
    return kept.decode("utf-8", "replace")


def _signal_group(pid: int, sig: int) -> None:
    if sys.platform == "win32":  # pragma: no cover - no process groups there
        with contextlib.suppress(ProcessLookupError, OSError):
            os.kill(pid, sig)
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


async def _kill_group(proc: asyncio.subprocess.Process) -> None:
    """SIGTERM to the agent's process group, SIGKILL if it is still there after the grace."""
    if proc.returncode is None:
        _signal_group(proc.pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), _TERM_GRACE_S)
    _signal_group(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        await proc.wait()
