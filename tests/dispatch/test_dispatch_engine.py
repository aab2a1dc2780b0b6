"""The dispatcher against a scripted provider: concurrency, retries, repairs, stopping."""

from __future__ import annotations

import asyncio
import time

import pytest
from dispatch_fakes import (
    CALL_COST,
    GOOD,
    USAGE,
    RecordingHooks,
    ScriptedProvider,
    Step,
    make_job,
    make_jobs,
)

from orchestrator.dispatch import TRUNCATED_FAILURE, DispatchSettings, Job, Verdict, dispatch
from orchestrator.errors import (
    AuthenticationFailed,
    BadRequest,
    Overloaded,
    ProviderTimeout,
    RateLimited,
)
from orchestrator.prompts import repair_message
from orchestrator.providers.base import CallResult, Turn

FAST = {"backoff_base_s": 0.001, "backoff_max_s": 0.01}


def settings(**changes: object) -> DispatchSettings:
    return DispatchSettings(**{**FAST, **changes})  # type: ignore[arg-type]


async def test_concurrency_never_exceeds_workers() -> None:
    provider = ScriptedProvider(default=Step(delay=0.02))
    hooks = RecordingHooks()
    report = await dispatch(make_jobs(40), provider, hooks, settings(workers=5))
    assert provider.max_in_flight == 5
    assert len(provider.calls) == 40
    assert [o.ok for o in report.outcomes] == [True] * 40
    assert report.stopped is None and report.not_started == [] and report.unfinished == []


async def test_report_totals_and_outcome_fields() -> None:
    provider = ScriptedProvider()
    hooks = RecordingHooks()
    report = await dispatch(make_jobs(3), provider, hooks, settings())
    assert report.usage == USAGE + USAGE + USAGE
    assert report.cost_usd == pytest.approx(3 * CALL_COST)
    outcome = report.outcomes[0]
    assert (outcome.key, outcome.row_id, outcome.content, outcome.calls, outcome.repairs) == (
        "0000",
        "row-0000",
        GOOD,
        1,
        0,
    )
    assert outcome.notes == ["checked"] and outcome.stop_reason == "end_turn"
    assert set(hooks.finished) == {"0000", "0001", "0002"}
    assert hooks.kinds("0000") == ["started", "response", "finished"]


async def test_a_429_pauses_every_worker_not_only_its_own() -> None:
    provider = ScriptedProvider(
        {"0000": [Step(error=RateLimited("429", retry_after=0.3), delay=0.01)]},
        default=Step(delay=0.05),
    )
    await dispatch(make_jobs(6), provider, RecordingHooks(), settings(workers=3))
    hit = provider.calls_for("0000")[0].end
    later = [c for c in provider.calls if c.start > hit]
    assert later, "other jobs must have started after the 429"
    assert min(c.start for c in later) >= hit + 0.29
    # the calls already in flight were not interrupted
    assert all(c.outcome == "ok" for c in provider.calls if c.start < hit and c.key != "0000")


async def test_retry_after_is_honoured() -> None:
    provider = ScriptedProvider({"0000": [Step(error=Overloaded("529", retry_after=0.25))]})
    hooks = RecordingHooks()
    report = await dispatch([make_job("0000")], provider, hooks, settings())
    first, second = provider.calls
    assert second.start - first.end >= 0.24
    assert report.outcomes[0].ok and report.outcomes[0].calls == 2
    retry = next(e for e in hooks.events if e.kind == "retry")
    assert retry.reason == "overloaded" and retry.delay_s == pytest.approx(0.25)


async def test_timeouts_are_retried_exactly_three_times_then_the_job_fails() -> None:
    provider = ScriptedProvider(default=Step(error=ProviderTimeout("connection failed or timed out")))
    hooks = RecordingHooks()
    report = await dispatch([make_job("0000")], provider, hooks, settings())
    assert len(provider.calls) == 4
    outcome = report.outcomes[0]
    assert not outcome.ok and outcome.calls == 4
    assert outcome.error is not None and "timed out" in outcome.error
    assert hooks.finished["0000"] is outcome
    assert hooks.kinds().count("retry") == 3


async def test_overloads_are_retried_up_to_max_retries() -> None:
    provider = ScriptedProvider(default=Step(error=Overloaded("500 api_error")))
    report = await dispatch([make_job("0000")], provider, RecordingHooks(), settings(max_retries=2))
    assert len(provider.calls) == 3
    assert not report.outcomes[0].ok and report.stopped is None


async def test_timeout_and_overload_budgets_are_separate() -> None:
    steps = [Step(error=ProviderTimeout("t"))] * 3 + [Step(error=Overloaded("o"))] * 2
    provider = ScriptedProvider({"0000": steps})
    report = await dispatch([make_job("0000")], provider, RecordingHooks(), settings(max_retries=2))
    assert report.outcomes[0].ok and len(provider.calls) == 6


async def test_fatal_error_stops_new_dispatch_and_keeps_finished_work() -> None:
    fatal = AuthenticationFailed("401 authentication_error: invalid x-api-key", status=401)
    provider = ScriptedProvider({"0002": [Step(error=fatal, delay=0.01)]}, default=Step(delay=0.03))
    hooks = RecordingHooks()
    report = await dispatch(make_jobs(10), provider, hooks, settings(workers=2))
    assert report.stopped == "fatal" and report.fatal is fatal and report.fatal_key == "0002"
    hit = provider.calls_for("0002")[0].end
    assert all(c.start <= hit for c in provider.calls), "no call may start after a fatal error"
    assert [o.key for o in report.outcomes] == sorted(hooks.finished)
    assert {"0000", "0001"} <= set(hooks.finished) and all(o.ok for o in report.outcomes)
    assert "0002" in report.unfinished and report.not_started
    assert len(report.outcomes) + len(report.unfinished) + len(report.not_started) == 10
    assert len(provider.calls_for("0002")) == 1, "fatal errors are not retried"
    assert "fatal" in hooks.kinds()


async def test_bad_request_is_fatal_too() -> None:
    provider = ScriptedProvider({"0000": [Step(error=BadRequest("400 invalid_request_error"))]})
    report = await dispatch(make_jobs(3), provider, RecordingHooks(), settings(workers=1))
    assert report.stopped == "fatal" and report.not_started == ["0001", "0002"]


async def test_repair_turn_continues_the_same_conversation_with_the_validator_messages() -> None:
    provider = ScriptedProvider({"0000": [Step(text="bad draft")]})
    hooks = RecordingHooks()
    report = await dispatch([make_job("0000")], provider, hooks, settings())
    first, second = provider.calls
    failures = ["bad output for 0000: category must be one of a, b"]
    assert second.turns == (
        first.turns[0],
        Turn("assistant", "bad draft"),
        Turn("user", repair_message(failures)),
    )
    assert "category must be one of a, b" in second.turns[-1].text
    outcome = report.outcomes[0]
    assert outcome.ok and outcome.calls == 2 and outcome.repairs == 1
    assert outcome.usage == USAGE + USAGE, "both calls are paid for"
    assert [r[3] for r in hooks.responses] == [1, 2]
    assert hooks.responses[1][1] == second.turns, "on_response sees the turns that were sent"
    repaired = next(e for e in hooks.events if e.kind == "repaired")
    assert repaired.message == failures[0]


async def test_a_job_that_keeps_failing_ends_with_the_last_failures() -> None:
    provider = ScriptedProvider(default=Step(text="always bad"))
    report = await dispatch([make_job("0000")], provider, RecordingHooks(), settings(repair_attempts=2))
    outcome = report.outcomes[0]
    assert len(provider.calls) == 3 and outcome.calls == 3 and outcome.repairs == 2
    assert not outcome.ok and outcome.content is None and outcome.error is None
    assert outcome.failures == ["bad output for 0000: category must be one of a, b"]
    assert outcome.last_text == "always bad"


async def test_truncated_output_is_repaired_without_calling_check() -> None:
    provider = ScriptedProvider({"0000": [Step(text=GOOD + " but cut", stop_reason="max_tokens")]})
    hooks = RecordingHooks()
    report = await dispatch([make_job("0000")], provider, hooks, settings())
    assert len(hooks.checked) == 1, "a truncated response must not reach check()"
    assert TRUNCATED_FAILURE in provider.calls[1].turns[-1].text
    assert report.outcomes[0].ok and report.outcomes[0].repairs == 1


async def test_history_resumes_a_repair_conversation() -> None:
    history = (Turn("assistant", "old draft"), Turn("user", repair_message(["fix it"])))
    provider = ScriptedProvider(default=Step(text="still bad"))
    report = await dispatch([make_job("0000", history)], provider, RecordingHooks(), settings(repair_attempts=2))
    assert provider.calls[0].turns[1:] == history
    assert len(provider.calls) == 2, "one repair was already used in the earlier run"
    assert report.outcomes[0].repairs == 2


def test_history_must_end_with_a_user_turn() -> None:
    with pytest.raises(ValueError, match="history"):
        make_job("0000", (Turn("assistant", "draft"),))


async def test_max_cost_stops_new_dispatch() -> None:
    provider = ScriptedProvider()
    hooks = RecordingHooks()
    cap = 3 * CALL_COST - 1e-9
    report = await dispatch(make_jobs(10), provider, hooks, settings(workers=1, max_cost=cap))
    assert report.stopped == "max_cost"
    assert len(provider.calls) == 3 and len(report.outcomes) == 3
    assert report.not_started == [f"{i:04d}" for i in range(3, 10)]
    assert "cost_limit" in hooks.kinds()


async def test_earlier_spend_counts_towards_max_cost() -> None:
    provider = ScriptedProvider()
    report = await dispatch(make_jobs(2), provider, RecordingHooks(), settings(max_cost=1.0), spent_before=1.0)
    assert provider.calls == [] and report.stopped == "max_cost" and len(report.not_started) == 2


async def test_stop_event_lets_in_flight_calls_finish() -> None:
    provider = ScriptedProvider(default=Step(delay=0.2))
    hooks = RecordingHooks()
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    report = await dispatch(make_jobs(10), provider, hooks, settings(workers=2), stop=stop)
    assert report.stopped == "interrupted"
    assert [o.key for o in report.outcomes] == ["0000", "0001"] and all(o.ok for o in report.outcomes)
    assert report.not_started == [f"{i:04d}" for i in range(2, 10)]
    assert len(provider.calls) == 2 and "interrupted" in hooks.kinds()


async def test_stop_event_cancels_in_flight_calls_after_the_grace_period() -> None:
    provider = ScriptedProvider(default=Step(delay=5.0))
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, stop.set)
    started = time.monotonic()
    report = await dispatch(make_jobs(4), provider, RecordingHooks(), settings(workers=2, grace_s=0.1), stop=stop)
    assert time.monotonic() - started < 1.0
    assert report.stopped == "interrupted" and report.outcomes == []
    assert report.unfinished == ["0000", "0001"] and report.not_started == ["0002", "0003"]
    assert report.pending == ["0000", "0001", "0002", "0003"]


async def test_stop_set_before_dispatch_starts_nothing() -> None:
    provider = ScriptedProvider()
    stop = asyncio.Event()
    stop.set()
    report = await dispatch(make_jobs(3), provider, RecordingHooks(), settings(), stop=stop)
    assert provider.calls == [] and report.stopped == "interrupted" and len(report.not_started) == 3


async def test_a_bug_in_a_hook_propagates_and_is_not_retried() -> None:
    def broken(job: object, result: object) -> Verdict:
        raise RuntimeError("validator bug")

    provider = ScriptedProvider(default=Step(delay=0.01))
    with pytest.raises(RuntimeError, match="validator bug"):
        await dispatch(make_jobs(5), provider, RecordingHooks(checker=broken), settings(workers=2))
    assert len(provider.calls) <= 2


async def test_duplicate_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="unique"):
        await dispatch([make_job("0001"), make_job("0001")], ScriptedProvider(), RecordingHooks(), settings())


async def test_empty_job_list() -> None:
    report = await dispatch([], ScriptedProvider(), RecordingHooks(), settings())
    assert report.outcomes == [] and report.stopped is None and report.cost_usd == 0.0


async def test_a_stop_wakes_workers_waiting_out_a_shared_cool_down() -> None:
    # 0000's 429 asks everyone to wait 30 s; the other worker then waits in the cool-down
    # with nothing in flight: Ctrl-C must end the run now, not after the grace period.
    provider = ScriptedProvider(
        {"0000": [Step(error=RateLimited("429", retry_after=30.0), delay=0.01)]},
        default=Step(delay=0.05),
    )
    stop = asyncio.Event()
    asyncio.get_running_loop().call_later(0.3, stop.set)
    started = time.monotonic()
    report = await dispatch(make_jobs(4), provider, RecordingHooks(), settings(workers=2, grace_s=5.0), stop=stop)
    assert time.monotonic() - started < 2.0
    assert report.stopped == "interrupted"
    assert [o.key for o in report.outcomes] == ["0001"]
    assert report.unfinished == ["0000", "0002"] and report.not_started == ["0003"]


async def test_a_fatal_error_wakes_workers_waiting_out_a_shared_cool_down() -> None:
    fatal = AuthenticationFailed("401 authentication_error: invalid x-api-key", status=401)
    provider = ScriptedProvider(
        {
            "0000": [Step(error=RateLimited("429", retry_after=30.0), delay=0.01)],
            "0001": [Step(error=fatal, delay=0.2)],
        },
        default=Step(delay=0.05),
    )
    started = time.monotonic()
    report = await dispatch(make_jobs(5), provider, RecordingHooks(), settings(workers=3))
    assert time.monotonic() - started < 2.0
    assert report.stopped == "fatal" and report.fatal is fatal
    assert [c.key for c in provider.calls] == ["0000", "0001", "0002"]
    assert report.unfinished == ["0000", "0001", "0003"] and report.not_started == ["0004"]


class _SlowCheckHooks(RecordingHooks):
    """A check that takes a while (a judge process, a linter): what else calls meanwhile."""

    def __init__(self, provider: ScriptedProvider) -> None:
        super().__init__()
        self.provider = provider
        self.calls_during_checks: list[int] = []

    async def check(self, job: Job, result: CallResult) -> Verdict:
        await asyncio.sleep(0.03)
        self.calls_during_checks.append(self.provider.in_flight)
        return await super().check(job, result)


async def test_a_response_being_judged_holds_no_call_slot() -> None:
    provider = ScriptedProvider(default=Step(delay=0.02))
    hooks = _SlowCheckHooks(provider)
    report = await dispatch(make_jobs(24), provider, hooks, settings(workers=2))
    assert provider.max_in_flight == 2  # never more calls than workers
    assert max(hooks.calls_during_checks) == 2  # both slots calling while a reply was judged
    assert [o.ok for o in report.outcomes] == [True] * 24 and len(provider.calls) == 24


async def test_jobs_halted_before_their_first_call_are_not_started_in_queue_order() -> None:
    provider = ScriptedProvider(
        {"0000": [Step(error=AuthenticationFailed("bad key"), delay=0.01)]}, default=Step(delay=0.05)
    )
    report = await dispatch(make_jobs(8), provider, RecordingHooks(), settings(workers=1))
    assert report.stopped == "fatal"
    assert [c.key for c in provider.calls] == ["0000"]  # the second conversation never got the slot
    assert report.not_started == [f"{i:04d}" for i in range(1, 8)]  # popped early, but never called
