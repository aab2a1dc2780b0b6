"""POST /v1/messages, count_tokens and streaming through the real anthropic SDK."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import anthropic
import pytest
from simkit import CATEGORIES, REFERENCE, SECTIONS, client, params, split_document, text_of

from orchestrator.plan.parser import parse_plan
from orchestrator.prompts import build_request
from orchestrator.sim.server import SimServer

PLAN = """\
# Batch Creation Plan

## Format Reference
output/idempotency.md

## Output Directory
output/

## Content Rules
- Every output needs front matter: term, category, tags
- category must be one of: Consistency, Concurrency, Scalability, Reliability
- Include Definition, Details, and Related Terms sections, in that order
- Blank line before every markdown table

## Validation Checklist
1. Front matter includes term, category, and at least 2 tags

## Phase 1
| # | Title | Filename | Model | Status |
|---|-------|----------|-------|--------|
| 1 | Idempotency | idempotency.md | haiku | complete |
| 2 | Quorum | quorum.md | haiku | pending |
"""


def raw(
    server: SimServer,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request over http.client, for what the SDK would refuse to send."""
    url = urlsplit(server.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    data = body if isinstance(body, bytes) else None if body is None else json.dumps(body).encode()
    sent = {"x-api-key": "sk-test", "anthropic-version": "2023-06-01", **(headers or {})}
    conn.request(method, path, body=data, headers=sent)
    resp = conn.getresponse()
    out = resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    conn.close()
    return out


def test_create_follows_the_reference(sim: SimServer) -> None:
    message = client(sim).messages.create(**params("Quorum"))
    front, headings, _ = split_document(text_of(message))
    assert list(front) == ["term", "category", "tags"] and front["term"] == "Quorum"
    assert front["category"] in CATEGORIES
    assert headings == SECTIONS
    assert message.stop_reason == "end_turn" and message.role == "assistant"
    assert message.id.startswith("msg_") and message.model == "claude-haiku-5-5"
    assert message.usage.output_tokens > 100
    assert sim.stats.messages_created == 1 and sim.stats.requests == {"messages": 1}


def test_understands_the_real_prompt_builder(sim: SimServer) -> None:
    plan = parse_plan(PLAN)
    row = next(r for p in plan.phases for r in p.rows if r.title == "Quorum")
    request = build_request(plan, row, REFERENCE)
    message = client(sim).messages.create(
        model="claude-haiku-5-5",
        max_tokens=4000,
        system=[
            {"type": "text", "text": request.system},
            {"type": "text", "text": request.shared, "cache_control": {"type": "ephemeral"}},
        ],
        messages=[{"role": "user", "content": request.row}],
    )
    front, headings, _ = split_document(text_of(message))
    assert front["term"] == "Quorum" and front["category"] in CATEGORIES
    assert headings == SECTIONS


def test_count_tokens_matches_what_is_billed(sim: SimServer) -> None:
    api = client(sim)
    kwargs = params("Backpressure")
    counted = api.messages.count_tokens(
        model=kwargs["model"], system=kwargs["system"], messages=kwargs["messages"]
    ).input_tokens
    usage = api.messages.create(**kwargs).usage
    billed = usage.input_tokens + (usage.cache_creation_input_tokens or 0)
    billed += usage.cache_read_input_tokens or 0
    assert counted == billed > len(REFERENCE) // 4
    assert sim.stats.requests["count_tokens"] == 1


def test_streaming(sim: SimServer) -> None:
    api = client(sim)
    with api.messages.stream(**params("Vector Clock")) as stream:
        streamed = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert streamed == text_of(final)
    assert split_document(streamed)[0]["term"] == "Vector Clock"
    assert final.stop_reason == "end_turn" and final.usage.output_tokens > 100
    events = [e.type for e in api.messages.create(**params("Vector Clock"), stream=True)]
    assert events[0] == "message_start" and events[-1] == "message_stop"
    assert "content_block_delta" in events and "message_delta" in events


def test_beta_query_and_raw_headers(sim: SimServer) -> None:
    status, headers, body = raw(sim, "POST", "/v1/messages?beta=true", params("Quorum"))
    assert status == 200 and headers["request-id"].startswith("req_")
    assert json.loads(body)["type"] == "message"
    assert "anthropic-ratelimit-requests-limit" not in headers  # no limits configured


@pytest.mark.parametrize(
    ("body", "complaint"),
    [
        (b"{not json", "not valid JSON"),
        ({"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}, "model"),
        ({"model": "m", "max_tokens": 10}, "messages"),
        ({"model": "m", "messages": [{"role": "user", "content": "hi"}]}, "max_tokens"),
        ({"model": "m", "max_tokens": 10, "messages": [{"role": "bot", "content": "x"}]}, "role"),
    ],
)
def test_malformed_bodies_get_400(sim: SimServer, body: Any, complaint: str) -> None:
    status, headers, data = raw(sim, "POST", "/v1/messages", body)
    error = json.loads(data)
    assert status == 400 and error["type"] == "error"
    assert error["error"]["type"] == "invalid_request_error"
    assert complaint in error["error"]["message"]
    assert error["request_id"] == headers["request-id"]


def test_sdk_maps_400_and_404(sim: SimServer, start_sim: Callable[..., SimServer]) -> None:
    api = client(sim)
    with pytest.raises(anthropic.BadRequestError):
        api.messages.create(model="m", max_tokens=10, messages=[])
    with pytest.raises(anthropic.NotFoundError):
        api.messages.batches.retrieve("msgbatch_nope")
    status, _, _ = raw(sim, "GET", "/v1/nothing")
    assert status == 404


def test_keep_alive_serves_many_requests_on_one_connection(sim: SimServer) -> None:
    url = urlsplit(sim.url)
    conn = http.client.HTTPConnection(url.hostname or "", url.port, timeout=10)
    for _ in range(3):  # an error answer must not desynchronise the connection either
        for body in (params("Quorum"), {"model": "m"}):
            headers = {"x-api-key": "k", "anthropic-version": "2023-06-01"}
            conn.request("POST", "/v1/messages", json.dumps(body), headers)
            resp = conn.getresponse()
            resp.read()
            assert resp.status in (200, 400)
    conn.close()
    assert sim.stats.responses == {200: 3, 400: 3}


def test_health_needs_no_key(sim: SimServer) -> None:
    status, _, body = raw(sim, "GET", "/health", headers={"x-api-key": ""})
    assert status == 200 and json.loads(body) == {"status": "ok"}
