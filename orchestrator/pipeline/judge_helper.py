"""The event loop's side of the judge process (see :mod:`.judge_process`).

:meth:`JudgeHelper.judge` hands a response to the judge process and awaits
its :class:`~orchestrator.pipeline.judge.Judgement`; the loop only pickles a
few kilobytes each way, through non-blocking pipes it watches itself, so it
goes on reading responses meanwhile. Whenever the process cannot answer (it
did not start, could not take the plan, died, or raised on one response),
the response is judged here by the same :class:`~orchestrator.pipeline.judge.Judge`:
the verdict never depends on where it was made.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import itertools
import os
import pickle
import subprocess
import sys
from pathlib import Path

from orchestrator.pipeline import judge_process as program
from orchestrator.pipeline.judge import TRUNCATING, Judge, Judgement

#: the module the judge process runs
PROGRAM = program.__name__
_STOP_WAIT_S = 2.0  # how long :meth:`JudgeHelper.close` waits for the process to end before killing it


class JudgeHelper:
    """Judges in the judge process while it answers, else in this one."""

    def __init__(self, local: Judge, process: subprocess.Popen[bytes] | None) -> None:
        self.local = local
        self._process = process
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ids = itertools.count()
        self._waiting: dict[int, asyncio.Future[Judgement | None]] = {}
        self._outgoing = bytearray()
        self._incoming = bytearray()
        self._ready = False
        self._write_soon = False  # a write of what is outgoing is scheduled on the loop
        self.remote = 0  # judgements the process made (the rest were made here)

    @classmethod
    def start(cls, local: Judge) -> JudgeHelper:
        """Start the judge process and hand it the compiled plan; without one, judge here."""
        plan = _shipped(local)
        if plan is None or not sys.executable:
            return cls(local, None)
        argv = [sys.executable, "-P", "-m", PROGRAM]
        try:
            process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        except OSError:
            return cls(local, None)
        assert process.stdin is not None and process.stdout is not None
        os.set_blocking(process.stdin.fileno(), False)
        os.set_blocking(process.stdout.fileno(), False)
        helper = cls(local, process)
        helper._send(plan)  # what the pipe does not take now goes once a loop watches it
        return helper

    @property
    def running(self) -> bool:
        """The process is there to judge (else every response is judged in this process)."""
        return self._process is not None

    async def judge(self, target: Path, text: str, stop_reason: str | None) -> Judgement:
        if self._process is None or stop_reason in TRUNCATING:
            return self.local.judge(target, text, stop_reason)
        self._attach()
        request = next(self._ids)
        waiting: asyncio.Future[Judgement | None] = asyncio.get_running_loop().create_future()
        self._waiting[request] = waiting
        self._queue(program.frame((request, str(target), text, stop_reason)))
        answer = await waiting
        if answer is None:
            return self.local.judge(target, text, stop_reason)
        self.remote += 1
        return answer

    def close(self) -> None:
        """Stop the process (it ends when its input does) and forget what it had not answered."""
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        if self._loop is not None and not self._loop.is_closed():
            self._loop.remove_reader(process.stdout.fileno())
            self._loop.remove_writer(process.stdin.fileno())
        self._fail_waiting()
        process.stdin.close()
        process.stdout.close()
        try:
            process.wait(_STOP_WAIT_S)
        except subprocess.TimeoutExpired:  # busy on a hung linter: it has nothing left to tell us
            process.kill()
            process.wait()

    # --- the pipes -------------------------------------------------------------------

    def _attach(self) -> None:
        if self._loop is not None:
            return
        assert self._process is not None and self._process.stdout is not None
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._process.stdout.fileno(), self._readable)
        self._writable()  # what the pipe did not take at the start now waits for the loop

    def _send(self, data: bytes) -> None:
        self._outgoing += data
        self._writable()

    def _queue(self, data: bytes) -> None:
        """Send ``data`` with the rest queued in this turn of the loop: one write for them all."""
        if self._loop is None:  # no loop watches the pipe yet: write what it takes now
            self._send(data)
            return
        self._outgoing += data
        if not self._write_soon:
            self._write_soon = True
            self._loop.call_soon(self._written_soon)

    def _written_soon(self) -> None:
        self._write_soon = False
        self._writable()

    def _writable(self) -> None:
        process, loop = self._process, self._loop
        if process is None:
            return
        assert process.stdin is not None
        pipe = process.stdin.fileno()
        try:
            taken = os.write(pipe, self._outgoing) if self._outgoing else 0
        except BlockingIOError:
            taken = 0
        except OSError:  # the process is gone: judge here from now on
            self._lost()
            return
        del self._outgoing[:taken]
        if loop is None:
            return
        if self._outgoing:
            loop.add_writer(pipe, self._writable)
        else:
            loop.remove_writer(pipe)

    def _readable(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        try:
            chunk = os.read(self._process.stdout.fileno(), 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._lost()
            return
        self._incoming += chunk
        if not self._ready:
            if self._incoming[:1] != program.READY:
                self._lost()
                return
            self._ready = True
            del self._incoming[:1]
        self._answers()

    def _answers(self) -> None:
        size = program.LENGTH.size
        while len(self._incoming) >= size:
            (length,) = program.LENGTH.unpack_from(self._incoming)
            if len(self._incoming) < size + length:
                return
            request, answer = pickle.loads(self._incoming[size : size + length])
            del self._incoming[: size + length]
            waiting = self._waiting.pop(request, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(_interned(answer) if answer is not None else None)

    def _lost(self) -> None:
        """The process ended or broke a frame: judge every waiting and later response here."""
        self.close()

    def _fail_waiting(self) -> None:
        waiting, self._waiting = self._waiting, {}
        for future in waiting.values():
            if not future.done():
                future.set_result(None)


def _shipped(local: Judge) -> bytes | None:
    """The compiled plan as the process's first frame; ``None`` if it cannot be pickled (a plugin's check).

    The plan's rows are left out: no check reads them, and a 10,000-row plan
    would otherwise cross the pipe for nothing.
    """
    compiled = copy.copy(local.compiled)
    compiled.plan = dataclasses.replace(compiled.plan, phases=())
    try:
        return program.frame(compiled)
    except (pickle.PicklingError, AttributeError, TypeError):
        return None


def _interned(judgement: Judgement) -> Judgement:
    return dataclasses.replace(judgement, checks=tuple(c.interned() for c in judgement.checks))
