"""Message Batches through the SDK: create, poll, results, list, cancel, delete."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from typing import Any

import anthropic
import pytest
from simkit import CATEGORIES, client, params, split_document
from test_sim_messages import raw

from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]
TITLES = ["Quorum", "Backpressure", "Fencing Token"]


def requests(titles: list[str] = TITLES) -> list[Any]:
    return [{"custom_id": f"row-{i}", "params": params(t)} for i, t in enumerate(titles)]


def wait_ended(api: anthropic.Anthropic, batch_id: str) -> Any:
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        batch = api.messages.batches.retrieve(batch_id)
        if batch.processing_status == "ended":
            return batch
        time.sleep(0.02)
    raise AssertionError("batch did not end")


def test_create_poll_results(sim: SimServer) -> None:
    api = client(sim)
    batch = api.messages.batches.create(requests=requests())
    assert batch.id.startswith("msgbatch_") and batch.type == "message_batch"
    assert batch.processing_status == "in_progress" and batch.results_url is None
    assert batch.request_counts.processing == 3 and batch.request_counts.succeeded == 0
    assert (batch.expires_at - batch.created_at).total_seconds() == 24 * 3600
    ended = wait_ended(api, batch.id)
    assert ended.request_counts.succeeded == 3 and ended.request_counts.processing == 0
    assert ended.ended_at is not None
    assert ended.results_url == f"{sim.url}/v1/messages/batches/{batch.id}/results"
    results = {r.custom_id: r.result for r in api.messages.batches.results(batch.id)}
    assert sorted(results) == ["row-0", "row-1", "row-2"]
    for i, title in enumerate(TITLES):
        result = results[f"row-{i}"]
        assert result.type == "succeeded"
        front, _, _ = split_document(result.message.content[0].text)  # type: ignore[union-attr]
        assert front["term"] == title and front["category"] in CATEGORIES
    assert sim.stats.snapshot().batch_messages_created == 3
    assert sim.stats.messages_created == 0  # batch answers are not real-time messages


@pytest.mark.parametrize(
    "bad",
    [
        [{"custom_id": "has space", "params": params()}],
        [{"custom_id": "x" * 65, "params": params()}],
        [{"custom_id": "", "params": params()}],
        [{"custom_id": "dup", "params": params()}, {"custom_id": "dup", "params": params()}],
        [{"custom_id": "ok"}],
        [],
    ],
)
def test_invalid_requests_get_400(sim: SimServer, bad: list[Any]) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        client(sim).messages.batches.create(requests=bad)
    assert err.value.body["error"]["type"] == "invalid_request_error"  # type: ignore[index]


def test_invalid_params_become_errored_results(sim: SimServer) -> None:
    api = client(sim)
    bad: Any = {k: v for k, v in params().items() if k != "max_tokens"}
    batch = api.messages.batches.create(requests=[{"custom_id": "a", "params": bad}])
    ended = wait_ended(api, batch.id)
    assert ended.request_counts.errored == 1
    (line,) = list(api.messages.batches.results(batch.id))
    assert line.result.type == "errored"
    assert line.result.error.error.type == "invalid_request_error"


def test_cancel(start_sim: Start) -> None:
    sim = start_sim(batch_delay_ms=5000)
    api = client(sim)
    batch = api.messages.batches.create(requests=requests())
    canceling = api.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at
    ended = wait_ended(api, batch.id)
    assert ended.request_counts.canceled == 3 and ended.request_counts.succeeded == 0
    assert {r.result.type for r in api.messages.batches.results(batch.id)} == {"canceled"}


def test_list_and_pagination(sim: SimServer) -> None:
    api = client(sim)
    ids = [api.messages.batches.create(requests=requests(["Quorum"])).id for _ in range(3)]
    page = api.messages.batches.list(limit=2)
    assert [b.id for b in page.data] == ids[::-1][:2] and page.has_more is True
    assert [b.id for b in api.messages.batches.list(limit=2)] == ids[::-1]  # auto-pagination
    status, _, body = raw(sim, "GET", "/v1/messages/batches?limit=10")
    listing = json.loads(body)
    assert status == 200 and listing["has_more"] is False
    assert (listing["first_id"], listing["last_id"]) == (ids[2], ids[0])


def test_delete_only_after_the_end(sim: SimServer, start_sim: Start) -> None:
    api = client(sim)
    batch = api.messages.batches.create(requests=requests(["Quorum"]))
    slow = client(start_sim(batch_delay_ms=5000))
    pending = slow.messages.batches.create(requests=requests(["Quorum"]))
    with pytest.raises(anthropic.BadRequestError):
        slow.messages.batches.delete(pending.id)
    wait_ended(api, batch.id)
    deleted = api.messages.batches.delete(batch.id)
    assert deleted.id == batch.id and deleted.type == "message_batch_deleted"
    with pytest.raises(anthropic.NotFoundError):
        api.messages.batches.retrieve(batch.id)


def test_batch_faults(start_sim: Start) -> None:
    sim = start_sim(pbatch_error=1)
    api = client(sim)
    ended = wait_ended(api, api.messages.batches.create(requests=requests()).id)
    assert ended.request_counts.errored == 3
    sim = start_sim(pbatch_expired=1)
    api = client(sim)
    ended = wait_ended(api, api.messages.batches.create(requests=requests()).id)
    assert ended.request_counts.expired == 3


async def test_async_client_batches(sim: SimServer) -> None:
    api = anthropic.AsyncAnthropic(api_key="sk-test", base_url=sim.url, max_retries=0)
    batch = await api.messages.batches.create(requests=requests(["Quorum"]))
    while (await api.messages.batches.retrieve(batch.id)).processing_status != "ended":
        await asyncio.sleep(0.02)
    lines = [r async for r in await api.messages.batches.results(batch.id)]
    assert [line.custom_id for line in lines] == ["row-0"]
    assert lines[0].result.type == "succeeded"
    await api.close()
