"""What the model cannot fix is never sent back to it: environment failures and dead connections.

A check that cannot run on this machine (a missing linter) ends the job and
stops the run without a repair turn; a connection that cannot be made at all
is retried briefly and then stops the run, instead of looking like a slow API.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from dispatch_fakes import GOOD, RecordingHooks, ScriptedProvider, Step, make_job, make_jobs

from orchestrator.dispatch import DispatchSettings, Job, Ledger, Verdict, dispatch
from orchestrator.errors import ConnectionFailed, EnvironmentFailure, ProviderTimeout
from orchestrator.providers.anthropic import AnthropicProvider
from orchestrator.providers.base import CallRequest, CallResult, Turn
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer

FAST = {"backoff_base_s": 0.001, "backoff_max_s": 0.01}
MISSING = "[lint.command] linter executable 'pymarkdown' was not found on PATH"


def settings(**changes: object) -> DispatchSettings:
    return DispatchSettings(**{**FAST, **changes})  # type: ignore[arg-type]


def environment_check(job: Job, result: CallResult) -> Verdict:
    """Every draft is fine for the model's part; the linter cannot run."""
    return Verdict(False, result.text, [], environment=[MISSING])


# --- environment verdicts ------------------------------------------------------------


async def test_an_environment_failure_sends_no_repair_and_stops_new_jobs() -> None:
    provider = ScriptedProvider()
    hooks = RecordingHooks(checker=environment_check)
    report = await dispatch(make_jobs(3), provider, hooks, settings(workers=1, repair_attempts=2))
    assert len(provider.calls) == 1, "one call, no repair turn, no further job"
    assert "repaired" not in hooks.kinds()
    assert report.stopped == "environment" and report.not_started == ["0001", "0002"]
    assert isinstance(report.environment, EnvironmentFailure)
    assert report.environment.problems == [MISSING]
    assert report.environment.hint and "doctor" in report.environment.hint
    outcome = report.outcomes[0]
    assert not outcome.ok and outcome.repairs == 0 and outcome.calls == 1
    assert outcome.error is not None and "pymarkdown" in outcome.error and "hint:" in outcome.error
    assert hooks.finished["0000"] is outcome
    assert "environment" in hooks.kinds()


async def test_environment_wins_over_output_failures_in_the_same_verdict() -> None:
    def both(job: Job, result: CallResult) -> Verdict:
        return Verdict(False, None, ["line 2: [frontmatter.required_keys] missing key 'term'"], environment=[MISSING])

    provider = ScriptedProvider()
    report = await dispatch([make_job("0000")], provider, RecordingHooks(checker=both), settings())
    assert len(provider.calls) == 1 and report.outcomes[0].repairs == 0
    assert report.outcomes[0].failures == ["line 2: [frontmatter.required_keys] missing key 'term'"]


async def test_a_verdict_that_says_ok_but_could_not_lint_is_not_ok() -> None:
    def ok_but_unlinted(job: Job, result: CallResult) -> Verdict:
        return Verdict(True, result.text, [], environment=[MISSING])

    report = await dispatch([make_job("0000")], ScriptedProvider(), RecordingHooks(checker=ok_but_unlinted), settings())
    assert not report.outcomes[0].ok and report.outcomes[0].content is None


async def test_calls_in_flight_finish_after_an_environment_stop() -> None:
    provider = ScriptedProvider({"0000": [Step(delay=0.0)]}, default=Step(delay=0.05))
    hooks = RecordingHooks(checker=lambda job, result: environment_check(job, result)
                           if job.key == "0000" else Verdict(True, result.text, []))
    report = await dispatch(make_jobs(6), provider, hooks, settings(workers=3))
    assert report.stopped == "environment"
    finished = {o.key: o.ok for o in report.outcomes}
    assert finished["0000"] is False and finished["0001"] is True and finished["0002"] is True
    assert len(report.outcomes) + len(report.unfinished) + len(report.not_started) == 6
    assert len(provider.calls) == 3, "nothing new started after the stop"


async def test_without_environment_failures_repairs_still_happen() -> None:
    provider = ScriptedProvider({"0000": [Step(text="bad"), Step(text=GOOD)]})
    report = await dispatch([make_job("0000")], provider, RecordingHooks(), settings())
    assert report.outcomes[0].ok and report.outcomes[0].repairs == 1 and report.stopped is None


# --- connections that cannot be made -------------------------------------------------


async def test_a_failed_connection_is_retried_twice_then_stops_the_run(tmp_path: Path) -> None:
    dead = ConnectionFailed("cannot connect to http://127.0.0.1:9", url="http://127.0.0.1:9", hint="check it")
    provider = ScriptedProvider(default=Step(error=dead))
    ledger = Ledger(tmp_path / "ledger.jsonl")
    hooks = RecordingHooks()
    report = await dispatch(make_jobs(4), provider, hooks, settings(workers=1), ledger=ledger)
    assert len(provider.calls) == 3, "the call and two quick retries, then nothing"
    assert report.stopped == "fatal" and report.fatal is dead and report.fatal_key == "0000"
    assert report.unfinished == ["0000"] and report.not_started == ["0001", "0002", "0003"]
    assert [e["outcome"] for e in ledger.entries()] == ["connection"] * 3
    assert hooks.kinds().count("retry") == 2


async def test_timeouts_keep_their_own_longer_budget() -> None:
    provider = ScriptedProvider({"0000": [Step(error=ProviderTimeout("slow"))] * 3})
    report = await dispatch([make_job("0000")], provider, RecordingHooks(), settings(connection_retries=0))
    assert report.outcomes[0].ok and len(provider.calls) == 4 and report.stopped is None


# --- the real SDK against loopback addresses where nothing answers ---------------


def closed_port() -> int:
    """A loopback port with no listener (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def request() -> CallRequest:
    return CallRequest("claude-haiku-5-5", "You write one file.", "Reference.", (Turn("user", "Write it."),), 100)


async def test_connection_refused_becomes_connection_failed_naming_the_url() -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    provider = AnthropicProvider(api_key="sk-test", base_url=url)
    try:
        with pytest.raises(ConnectionFailed) as caught:
            await provider.call(request())
        with pytest.raises(ConnectionFailed):
            await provider.count_tokens(request())
    finally:
        await provider.aclose()
    error = caught.value
    assert error.url == url and url in error.message and "Connection refused" in error.message
    assert error.hint and "ANTHROPIC_BASE_URL" in error.hint
    assert not isinstance(error, ProviderTimeout), "a refused connection is not a slow API"


async def test_tls_to_a_plain_http_server_becomes_connection_failed() -> None:
    server = SimServer(SimConfig())
    url = server.start()
    provider = AnthropicProvider(api_key="sk-test", base_url=url.replace("http://", "https://"))
    try:
        with pytest.raises(ConnectionFailed) as caught:
            await provider.call(request())
    finally:
        await provider.aclose()
        server.stop()
    assert caught.value.url is not None and caught.value.url.startswith("https://127.0.0.1:")


async def test_a_dispatch_against_a_closed_port_makes_three_attempts_and_stops() -> None:
    provider = AnthropicProvider(api_key="sk-test", base_url=f"http://127.0.0.1:{closed_port()}")
    jobs = [Job(f"{i:04d}", f"row-{i}", make_job("x").model, request()) for i in range(3)]
    hooks = RecordingHooks()
    try:
        report = await dispatch(jobs, provider, hooks, settings(workers=1))
    finally:
        await provider.aclose()
    assert isinstance(report.fatal, ConnectionFailed) and report.stopped == "fatal"
    assert report.outcomes == [] and report.unfinished == ["0000"] and report.not_started == ["0001", "0002"]
    assert hooks.kinds().count("retry") == 2
