"""Authentication, injected faults, and rate limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

import anthropic
import pytest
from simkit import client, params
from test_sim_messages import raw

from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]


def test_bearer_and_x_api_key_are_both_accepted(sim: SimServer) -> None:
    # The Python SDK sends Authorization: Bearer; the claude CLI sends x-api-key.
    assert client(sim).messages.create(**params()).type == "message"
    status, _, _ = raw(sim, "POST", "/v1/messages", params(), {"x-api-key": "sk-cli"})
    assert status == 200
    bearer = {"x-api-key": "", "Authorization": "Bearer sk-other"}
    assert raw(sim, "POST", "/v1/messages", params(), bearer)[0] == 200


def test_missing_invalid_and_forbidden_keys(sim: SimServer) -> None:
    status, _, body = raw(sim, "POST", "/v1/messages", params(), {"x-api-key": ""})
    assert status == 401 and b"authentication_error" in body
    with pytest.raises(anthropic.AuthenticationError) as err:
        client(sim, key="sk-sim-invalid").messages.create(**params())
    assert err.value.status_code == 401 and err.value.request_id
    with pytest.raises(anthropic.PermissionDeniedError):
        client(sim, key="sk-sim-forbidden").messages.create(**params())
    assert sim.stats.messages_created == 0


def test_configured_key_rejects_others(start_sim: Start) -> None:
    sim = start_sim(key="sk-right")
    assert client(sim, key="sk-right").messages.create(**params()).type == "message"
    with pytest.raises(anthropic.AuthenticationError):
        client(sim, key="sk-wrong").messages.create(**params())
    status, _, _ = raw(sim, "POST", "/v1/messages", params(), {"x-api-key": "sk-right"})
    assert status == 200


def test_p429_raises_rate_limit_error_with_retry_after(start_sim: Start) -> None:
    sim = start_sim(p429=1, retry_after_ms=1500)
    with pytest.raises(anthropic.RateLimitError) as err:
        client(sim).messages.create(**params())
    headers = err.value.response.headers
    assert headers["retry-after"] == "2" and headers["retry-after-ms"] == "1500"
    assert err.value.body["error"]["type"] == "rate_limit_error"  # type: ignore[index]
    assert sim.stats.snapshot().faults == {"p429": 1} and sim.stats.messages_created == 0


def test_p529_and_p500(start_sim: Start) -> None:
    with pytest.raises(anthropic.OverloadedError):
        client(start_sim(p529=1)).messages.create(**params())
    with pytest.raises(anthropic.InternalServerError) as err:
        client(start_sim(p500=1)).messages.create(**params())
    assert err.value.status_code == 500


def test_pdisconnect_raises_connection_error(start_sim: Start) -> None:
    sim = start_sim(pdisconnect=1)
    with pytest.raises(anthropic.APIConnectionError):
        client(sim).messages.create(**params())
    assert sim.stats.responses == {0: 1}


def test_faults_follow_the_seed(start_sim: Start) -> None:
    def outcomes(seed: int) -> list[int]:
        api = client(start_sim(seed=seed, p500=0.5))
        codes = []
        for _ in range(12):
            try:
                api.messages.create(**params())
                codes.append(200)
            except anthropic.InternalServerError:
                codes.append(500)
        return codes

    first = outcomes(11)
    assert first == outcomes(11) and 200 in first and 500 in first


def test_rate_limit_headers_are_sent(start_sim: Start) -> None:
    sim = start_sim(rpm=600, tpm=400_000, otpm=80_000)
    status, headers, _ = raw(sim, "POST", "/v1/messages", params())
    assert status == 200
    for kind in ("requests", "tokens", "input-tokens", "output-tokens"):
        for field in ("limit", "remaining", "reset"):
            assert f"anthropic-ratelimit-{kind}-{field}" in headers
    assert headers["anthropic-ratelimit-requests-limit"] == "600"
    assert headers["anthropic-ratelimit-input-tokens-limit"] == "400000"
    reset = datetime.strptime(headers["anthropic-ratelimit-requests-reset"], "%Y-%m-%dT%H:%M:%SZ")
    assert abs((reset.replace(tzinfo=UTC) - datetime.now(UTC)).total_seconds()) < 5


def test_rpm_is_enforced(start_sim: Start) -> None:
    sim = start_sim(rpm=120)  # 2 per second, burst 2
    api = client(sim)
    ok = 0
    with pytest.raises(anthropic.RateLimitError) as err:
        for _ in range(5):
            api.messages.create(**params())
            ok += 1
    assert ok == 2
    headers = err.value.response.headers
    assert int(headers["retry-after"]) >= 1 and 0 < int(headers["retry-after-ms"]) <= 1000
    assert headers["anthropic-ratelimit-requests-remaining"] == "0"
    time.sleep(int(headers["retry-after-ms"]) / 1000 + 0.05)
    assert api.messages.create(**params()).type == "message"
    assert sim.stats.snapshot().rate_limited == 1


def test_tpm_counts_input_tokens(start_sim: Start) -> None:
    sim = start_sim(tpm=60 * 600)  # 600 input tokens a second; a request is ~440
    api = client(sim)
    api.messages.create(**params())
    with pytest.raises(anthropic.RateLimitError) as err:
        api.messages.create(**params())
    assert "input-tokens" in str(err.value)
    remaining = int(err.value.response.headers["anthropic-ratelimit-input-tokens-remaining"])
    assert 600 - 441 <= remaining < 441


def test_spend_limit_after_n_messages_is_the_sdks_enforced_spend_limit_error(start_sim: Start) -> None:
    sim = start_sim(spend_limit_after=2)
    api = client(sim)
    api.messages.create(**params("One"))
    api.messages.create(**params("Two"))
    with pytest.raises(anthropic.EnforcedSpendLimitReachedError) as err:
        api.messages.create(**params("Three"))
    exc = err.value
    assert isinstance(exc, anthropic.RateLimitError) and exc.status_code == 429
    assert exc.error_code == "enforced_spend_limit_reached" and exc.type == "rate_limit_error"
    assert exc.response.headers["x-should-retry"] == "false"
    body = exc.body
    assert isinstance(body, dict) and body["error"]["details"] == {"error_code": "enforced_spend_limit_reached"}
    assert sim.stats.messages_created == 2 and sim.stats.snapshot().faults == {"spend_limit": 1}


def test_the_sdk_does_not_retry_a_spend_limit(start_sim: Start) -> None:
    sim = start_sim(pspend_limit=1)
    with pytest.raises(anthropic.EnforcedSpendLimitReachedError):
        client(sim, max_retries=2).messages.create(**params())
    assert sim.stats.requests["messages"] == 1, "x-should-retry: false must stop the SDK's own retries"


def test_a_simulator_bug_is_a_500_the_sdk_does_not_retry(start_sim: Start, monkeypatch: pytest.MonkeyPatch) -> None:
    import orchestrator.sim.server as server_module

    sim = start_sim()

    def broken(*args: object, **kwargs: object) -> None:
        raise KeyError("bug")

    monkeypatch.setattr(server_module, "create_message", broken)
    with pytest.raises(anthropic.InternalServerError) as err:
        client(sim, max_retries=2).messages.create(**params())
    assert err.value.response.headers["x-should-retry"] == "false"
    assert sim.stats.requests["messages"] == 1
    assert sim.stats.snapshot().internal_errors == 1
    sim.stats.reset()  # the fixture checks that no test leaves an unexplained internal error


def test_a_request_without_anthropic_version_is_refused(sim: SimServer) -> None:
    # the real API refuses it; a hand-written client that forgot it must not pass a rehearsal
    status, _, body = raw(sim, "POST", "/v1/messages", params(), {"anthropic-version": ""})
    assert status == 400 and b"anthropic-version" in body and b"invalid_request_error" in body
    assert raw(sim, "GET", "/health", headers={"anthropic-version": ""})[0] == 200
