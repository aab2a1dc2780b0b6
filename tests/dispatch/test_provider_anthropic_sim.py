"""The Anthropic provider through the real SDK against the local simulator (HTTP on loopback)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from orchestrator.dispatch import DispatchSettings, Job, Ledger, Verdict, dispatch
from orchestrator.errors import (
    AuthenticationFailed,
    BadRequest,
    ConfigError,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    SpendLimitReached,
)
from orchestrator.models import ModelInfo
from orchestrator.providers.anthropic import (
    AnthropicProvider,
    map_error,
    retry_after,
    system_blocks,
)
from orchestrator.providers.base import CallRequest, CallResult, Turn
from orchestrator.providers.registry import create_provider
from orchestrator.providers.sim import SimProvider
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import FORBIDDEN_KEY, INVALID_KEY, SimServer

CATEGORIES = ("Consistency", "Concurrency", "Scalability", "Reliability")
PARAGRAPH = (
    "An operation is idempotent if performing it more than once produces the same effect as "
    "performing it exactly once. A client can safely retry an idempotent request after a "
    "timeout without worrying about duplicating the underlying effect. "
)
REFERENCE = (
    "---\nterm: Idempotency\ncategory: Reliability\n"
    "tags: [distributed-systems, reliability]\n---\n\n"
    f"## Definition\n\n{PARAGRAPH * 12}\n\n## Details\n\n{PARAGRAPH * 12}\n\n"
    f"## Related Terms\n\n{PARAGRAPH * 6}\n"
)
#: well above the simulator's (and most models') 1,024-token caching minimum
SHARED = (
    "Read ref/idempotency.md for structure, style, and front matter format.\n\n"
    f'<format_reference path="ref/idempotency.md">\n{REFERENCE}</format_reference>\n\n'
    "Follow these content rules: Every output needs front matter: term, category, tags; "
    f"category must be one of: {', '.join(CATEGORIES)}; "
    "Include Definition, Details, and Related Terms sections, in that order."
)
MODEL = ModelInfo("haiku", "claude-haiku-5-5", 0.10, 0.50, 0.125, 0.20, 0.01)


def request(title: str = "Quorum", max_tokens: int = 4000) -> CallRequest:
    turn = Turn("user", f"Produce output covering {title}.\nWrite the output to out/{title}.md.")
    return CallRequest(MODEL.id, "You write one file.", SHARED, (turn,), max_tokens)


@pytest.fixture
def start_sim() -> Iterator[Callable[..., SimServer]]:
    servers: list[SimServer] = []

    def start(**settings: Any) -> SimServer:
        server = SimServer(SimConfig(**settings))
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    # a 500 from a simulator bug must never pass as an injected fault that retries absorbed
    assert [s.stats.snapshot().internal_errors for s in servers] == [0] * len(servers)


async def call_with(server: SimServer, key: str = "sk-test", req: CallRequest | None = None) -> CallResult:
    provider = AnthropicProvider(api_key=key, base_url=server.url)
    try:
        return await provider.call(req or request())
    finally:
        await provider.aclose()


# --- error mapping over the wire ------------------------------------------------


@pytest.mark.parametrize(("key", "status"), [(INVALID_KEY, 401), (FORBIDDEN_KEY, 403)])
async def test_bad_keys_become_authentication_failed(
    start_sim: Callable[..., SimServer], key: str, status: int
) -> None:
    with pytest.raises(AuthenticationFailed) as caught:
        await call_with(start_sim(), key)
    assert caught.value.status == status and caught.value.request_id
    assert caught.value.hint and "ANTHROPIC_API_KEY" in caught.value.hint


async def test_a_429_becomes_rate_limited_with_retry_after_from_the_ms_header(
    start_sim: Callable[..., SimServer],
) -> None:
    with pytest.raises(RateLimited) as caught:
        await call_with(start_sim(p429=1.0, retry_after_ms=1500))
    assert caught.value.retry_after == 1.5 and caught.value.status == 429


@pytest.mark.parametrize(("fault", "status"), [("p529", 529), ("p500", 500)])
async def test_529_and_500_become_overloaded(start_sim: Callable[..., SimServer], fault: str, status: int) -> None:
    with pytest.raises(Overloaded) as caught:
        await call_with(start_sim(**{fault: 1.0}))
    assert caught.value.status == status and caught.value.retryable


async def test_a_dropped_connection_becomes_provider_timeout(
    start_sim: Callable[..., SimServer],
) -> None:
    with pytest.raises(ProviderTimeout):
        await call_with(start_sim(pdisconnect=1.0))


async def test_an_invalid_request_becomes_bad_request(start_sim: Callable[..., SimServer]) -> None:
    with pytest.raises(BadRequest) as caught:
        await call_with(start_sim(), req=request(max_tokens=0))
    assert caught.value.status == 400 and "max_tokens" in caught.value.message


async def test_the_spend_limit_becomes_spend_limit_reached(start_sim: Callable[..., SimServer]) -> None:
    with pytest.raises(SpendLimitReached) as caught:
        await call_with(start_sim(pspend_limit=1.0))
    assert caught.value.status == 429 and not caught.value.retryable
    assert caught.value.hint and "spend limit" in caught.value.hint


async def test_a_call_slower_than_the_timeout_becomes_provider_timeout(
    start_sim: Callable[..., SimServer],
) -> None:
    server = start_sim(latency_ms=1500)
    provider = AnthropicProvider(api_key="sk-test", base_url=server.url, timeout=0.3)
    try:
        with pytest.raises(ProviderTimeout, match="timed out"):
            await provider.call(request())
    finally:
        await provider.aclose()


async def test_orchestrate_timeout_s_sets_the_call_timeout() -> None:
    env = {"ANTHROPIC_API_KEY": "sk-test", "ORCHESTRATE_TIMEOUT_S": "2.5"}
    provider = create_provider("anthropic", env=env)
    assert isinstance(provider, AnthropicProvider)
    assert provider._client.timeout.read == 2.5  # type: ignore[union-attr]
    await provider.aclose()
    sim = create_provider("sim", env={"ORCHESTRATE_TIMEOUT_S": "7"})
    assert isinstance(sim, SimProvider) and sim._timeout == 7.0
    for bad in ("soon", "0", "-1", "inf", "nan"):
        with pytest.raises(ConfigError, match="ORCHESTRATE_TIMEOUT_S"):
            create_provider("anthropic", env={**env, "ORCHESTRATE_TIMEOUT_S": bad})


# --- error mapping without a server (statuses the simulator does not send) ----


SDK_CLASSES: dict[int, type[anthropic.APIStatusError]] = {
    400: anthropic.BadRequestError,
    402: anthropic.PaymentRequiredError,
    404: anthropic.NotFoundError,
    408: anthropic.RequestTimeoutError,
    409: anthropic.ConflictError,
    413: anthropic.ContentTooLargeError,
    422: anthropic.UnprocessableEntityError,
    429: anthropic.RateLimitError,
    503: anthropic.ServiceUnavailableError,
    529: anthropic.OverloadedError,
}


def sdk_error(status: int, error_code: str | None = None, **headers: str) -> anthropic.APIStatusError:
    """The exception the SDK raises for such a response (built with its public constructors)."""
    details = {"error_code": error_code} if error_code else None
    body = {"type": "error", "error": {"type": "x_error", "message": "m", "details": details}}
    response = httpx2.Response(
        status, headers=headers, json=body, request=httpx2.Request("POST", "http://sim/v1/messages")
    )
    cls = SDK_CLASSES[status]
    if error_code == "enforced_spend_limit_reached":
        cls = anthropic.EnforcedSpendLimitReachedError
    return cls("m", response=response, body=body)


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [
        (429, "enforced_spend_limit_reached", SpendLimitReached),
        (402, None, SpendLimitReached),
        (400, None, BadRequest),
        (404, None, BadRequest),
        (413, None, BadRequest),
        (422, None, BadRequest),
        (408, None, Overloaded),
        (409, None, Overloaded),
        (503, None, Overloaded),
        (429, None, RateLimited),
    ],
)
def test_status_mapping(status: int, code: str | None, expected: type[Exception]) -> None:
    exc = sdk_error(status, code)
    if code == "enforced_spend_limit_reached":
        assert isinstance(exc, anthropic.RateLimitError), "the SDK's class is a RateLimitError"
    mapped = map_error(exc)
    assert type(mapped) is expected and mapped.status == status


@pytest.mark.parametrize(
    ("status", "header", "expected", "retryable"),
    [
        (529, "false", ProviderError, False),  # the SDK would not retry it: neither do we
        (503, "false", ProviderError, False),
        (429, "false", ProviderError, False),
        (409, "true", Overloaded, True),
        (400, "true", Overloaded, True),  # the SDK would retry it: so do we
        (404, "false", BadRequest, False),
        (401, "true", AuthenticationFailed, False),  # a bad key stops the run whatever the header
        (429, "true", RateLimited, True),
    ],
)
def test_x_should_retry_overrides_the_status(
    status: int, header: str, expected: type[Exception], retryable: bool
) -> None:
    exc = sdk_error(status, **{"x-should-retry": header}) if status != 401 else None
    if exc is None:
        body = {"type": "error", "error": {"type": "authentication_error", "message": "m"}}
        response = httpx2.Response(
            401, headers={"x-should-retry": header}, json=body, request=httpx2.Request("POST", "http://sim/")
        )
        exc = anthropic.AuthenticationError("m", response=response, body=body)
    mapped = map_error(exc)
    assert type(mapped) is expected and mapped.retryable is retryable and mapped.status == status


def test_a_spend_limit_stays_fatal_whatever_x_should_retry_says() -> None:
    mapped = map_error(sdk_error(429, "enforced_spend_limit_reached", **{"x-should-retry": "true"}))
    assert type(mapped) is SpendLimitReached


def test_retry_after_headers() -> None:
    assert retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert retry_after({"retry-after": "3"}) == 3.0
    assert retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0
    assert retry_after({}) is None
    mapped = map_error(sdk_error(529, **{"retry-after-ms": "1200"}))
    assert isinstance(mapped, Overloaded) and mapped.retry_after == 1.2


# --- request layout, caching, headers ---------------------------------------------


def test_system_blocks_mark_only_the_shared_prefix_as_cacheable() -> None:
    blocks = system_blocks(request())
    assert [b.get("cache_control") for b in blocks] == [None, {"type": "ephemeral"}]
    assert blocks[1]["text"] == SHARED


async def test_second_call_reads_the_shared_prefix_from_the_cache(
    start_sim: Callable[..., SimServer],
) -> None:
    server = start_sim()
    provider = AnthropicProvider(api_key="sk-test", base_url=server.url)
    try:
        first = await provider.call(request("Quorum"))
        second = await provider.call(request("Consensus"))
        counted = await provider.count_tokens(request("Consensus"))
    finally:
        await provider.aclose()
    assert first.usage.cache_creation_input_tokens > 1024 and first.usage.cache_read_input_tokens == 0
    assert second.usage.cache_read_input_tokens == first.usage.cache_creation_input_tokens
    assert second.usage.input_tokens < 100
    assert counted == second.usage.total_input
    assert second.text.startswith("---\nterm: Consensus") and second.stop_reason == "end_turn"


async def test_rate_limit_headers_are_read(start_sim: Callable[..., SimServer]) -> None:
    result = await call_with(start_sim(rpm=600, tpm=400_000))
    limits = result.rate_limits
    assert limits is not None and limits.requests_limit == 600
    assert limits.input_tokens_limit == 400_000 and limits.requests_remaining is not None
    assert limits.requests_reset_s is not None and 0.0 <= limits.requests_reset_s <= 2.0


# --- the sim provider ------------------------------------------------------------


async def test_sim_provider_starts_and_stops_its_own_simulator() -> None:
    provider = create_provider("sim", env={"ORCHESTRATE_SIM": "seed=3"})
    assert isinstance(provider, SimProvider) and provider.server is None
    result = await provider.call(request())
    server = provider.server
    assert server is not None and server.stats.messages_created == 1
    assert result.text.startswith("---")
    await provider.aclose()
    assert provider.server is None and not server.running


async def test_sim_provider_uses_orchestrate_sim_url(start_sim: Callable[..., SimServer]) -> None:
    server = start_sim()
    provider = create_provider("sim", env={"ORCHESTRATE_SIM_URL": server.url})
    await provider.call(request())
    await provider.aclose()
    assert provider.server is None and server.stats.messages_created == 1  # type: ignore[attr-defined]


# --- dispatch end to end --------------------------------------------------------


class DocumentHooks:
    """A minimal validator: front matter, an allowed category, the three sections, no fence."""

    def __init__(self) -> None:
        self.repairs_seen = 0

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        self.repairs_seen += len(turns) > 1

    async def check(self, job: Job, result: CallResult) -> Verdict:
        text, failures = result.text, []
        if not text.startswith("---\n"):
            failures.append("the file must start with front matter, not a code fence")
        match = re.search(r"^category: (.+)$", text, re.MULTILINE)
        if not match or match.group(1).strip() not in CATEGORIES:
            failures.append(f"category must be one of: {', '.join(CATEGORIES)}")
        headings = re.findall(r"^## (.+)$", text, re.MULTILINE)
        if headings != ["Definition", "Details", "Related Terms"]:
            failures.append("sections must be Definition, Details, Related Terms in that order")
        return Verdict(not failures, text if not failures else None, failures)

    def on_finished(self, job: Job, outcome: object) -> None:
        pass

    def on_event(self, event: object) -> None:
        pass


def sim_jobs(n: int) -> list[Job]:
    return [Job(f"{i:04d}", f"r{i}", MODEL, request(f"Topic {i}")) for i in range(n)]


async def test_thirty_jobs_complete_through_http_faults(
    start_sim: Callable[..., SimServer],
) -> None:
    server = start_sim(seed=11, p429=0.2, p529=0.05, p500=0.05, pdisconnect=0.02, retry_after_ms=50)
    provider = AnthropicProvider(api_key="sk-test", base_url=server.url)
    settings = DispatchSettings(workers=8, backoff_base_s=0.01, backoff_max_s=0.1)
    try:
        report = await dispatch(sim_jobs(30), provider, DocumentHooks(), settings)
    finally:
        await provider.aclose()
    assert [o.ok for o in report.outcomes] == [True] * 30, [o.error for o in report.outcomes]
    faults = server.stats.snapshot().faults
    assert faults.get("p429", 0) > 0, "the run must actually have met 429s"
    assert sum(o.calls for o in report.outcomes) == server.stats.requests["messages"]


async def test_flawed_drafts_are_repaired_in_conversation(
    start_sim: Callable[..., SimServer],
) -> None:
    server = start_sim(seed=5, pbad_enum=0.3, pfenced=0.2, pmissing_section=0.2, ptruncated=0.1)
    provider = AnthropicProvider(api_key="sk-test", base_url=server.url)
    hooks = DocumentHooks()
    try:
        report = await dispatch(sim_jobs(20), provider, hooks, DispatchSettings(workers=5))
    finally:
        await provider.aclose()
    assert all(o.ok for o in report.outcomes), [o.failures for o in report.outcomes]
    assert sum(o.repairs for o in report.outcomes) == hooks.repairs_seen > 0


async def test_a_spend_limit_stops_the_run_and_keeps_what_finished(
    start_sim: Callable[..., SimServer],
) -> None:
    server = start_sim(spend_limit_after=3, latency_ms=20)
    provider = AnthropicProvider(api_key="sk-test", base_url=server.url)
    try:
        report = await dispatch(sim_jobs(8), provider, DocumentHooks(), DispatchSettings(workers=1))
    finally:
        await provider.aclose()
    assert report.stopped == "fatal" and isinstance(report.fatal, SpendLimitReached)
    assert report.fatal_key == "0003"
    assert [o.key for o in report.outcomes] == ["0000", "0001", "0002"] and all(o.ok for o in report.outcomes)
    assert report.unfinished == ["0003"] and len(report.not_started) == 4
    assert server.stats.requests["messages"] == 4, "a spend limit is not retried"


async def test_timeouts_over_http_are_retried_three_times_then_the_row_fails(
    start_sim: Callable[..., SimServer], tmp_path: Path
) -> None:
    server = start_sim(latency_ms=1000)
    provider = AnthropicProvider(api_key="sk-test", base_url=server.url, timeout=0.2)
    ledger = Ledger(tmp_path / "ledger.jsonl")
    settings = DispatchSettings(workers=1, backoff_base_s=0.01, backoff_max_s=0.02)
    try:
        report = await dispatch(sim_jobs(1), provider, DocumentHooks(), settings, ledger=ledger)
    finally:
        await provider.aclose()
    (outcome,) = report.outcomes
    assert not outcome.ok and outcome.calls == 4 and report.stopped is None
    assert outcome.error is not None and "timed out" in outcome.error
    assert [e["outcome"] for e in ledger.entries()] == ["timeout"] * 4
    assert server.stats.requests["messages"] == 4
