"""Ctrl-C and SIGTERM set the dispatcher's stop event instead of killing paid-for calls."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
from dispatch_fakes import RecordingHooks, ScriptedProvider, Step, make_jobs

from orchestrator.dispatch import DispatchSettings, dispatch
from orchestrator.dispatch.signals import stop_on_signals

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX signals")


async def test_sigint_during_dispatch_is_a_graceful_stop() -> None:
    provider = ScriptedProvider(default=Step(delay=0.2))
    stop = asyncio.Event()
    told: list[str] = []
    before = signal.getsignal(signal.SIGINT)
    with stop_on_signals(stop, on_first=lambda: told.append("stopping")):
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGINT)
        report = await dispatch(make_jobs(6), provider, RecordingHooks(), DispatchSettings(workers=2), stop=stop)
        assert signal.getsignal(signal.SIGINT) is before, "a second Ctrl-C must abort as usual"
    assert told == ["stopping"]
    assert report.stopped == "interrupted" and [o.ok for o in report.outcomes] == [True, True]


async def test_sigterm_sets_stop_and_handlers_are_restored() -> None:
    stop = asyncio.Event()
    before = signal.getsignal(signal.SIGTERM)
    with stop_on_signals(stop):
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 1.0)
    assert stop.is_set() and signal.getsignal(signal.SIGTERM) is before
