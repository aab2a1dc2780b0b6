"""Responses on disk decide what a rerun sends: reuse, judge from disk, resume, or retry."""

from __future__ import annotations

import json
from collections.abc import Callable

from pipekit import BATCH, Demo, orchestrate

from orchestrator.sim.server import SimServer

NEW = ("--phase", "1", "--provider", "sim")


def _edit(demo: Demo, item: str, **changes: object) -> None:
    path = demo.item(item, "response.json")
    meta = json.loads(path.read_text())
    meta.update(changes)
    path.write_text(json.dumps(meta))


def test_unjudged_response_is_judged_from_disk(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("acquire", str(demo.plan), *NEW).code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    assert orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes").code == 0
    _edit(demo, "item-0002", verdict=None, final=False)  # as if killed between receiving and checking
    result = orchestrate("all", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json")
    assert result.code == 0 and result.json()["dispatched"] == 0
    assert demo.json("item-0002", "response.json")["verdict"]["ok"] is True
    assert set(demo.statuses().values()) == {"complete"}
    assert server.stats.requests.get("messages", 0) == 5


def test_failed_mid_conversation_resumes_with_a_repair_turn(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("acquire", str(demo.plan), *NEW).code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    assert orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes").code == 0
    _edit(
        demo, "item-0003", verdict={"ok": False, "failures": ["category 'X' is not allowed"], "notes": []}, final=False
    )
    result = orchestrate("all", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json")
    assert result.code == 0 and result.json()["dispatched"] == 1
    last = demo.ledger()[-1]
    assert last["key"] == "item-0003" and last["kind"] == "repair", "the conversation continued"
    history = demo.json("item-0003", "response.json")["history"]
    assert [t["role"] for t in history] == ["assistant", "user"] and "category 'X'" in history[1]["text"]
    assert server.stats.requests.get("messages", 0) == 6


def test_finished_failure_is_retried_afresh(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    assert orchestrate("acquire", str(demo.plan), *NEW, "--limit", "1").code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    assert orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes").code == 0
    _edit(demo, "item-0002", verdict={"ok": False, "failures": ["bad"], "notes": []}, final=True)
    result = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json")
    assert result.json()["dispatched"] == 1
    assert demo.ledger()[-1]["kind"] == "call"
    assert demo.json("item-0002", "response.json")["history"] == []


def test_model_override_is_a_new_request(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("acquire", str(demo.plan), *NEW, "--limit", "1").code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    assert orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes").code == 0
    again = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes", "--model", "sonnet", "--json")
    assert again.json()["dispatched"] == 1, "a haiku answer does not answer a sonnet request"
    assert demo.json("item-0002", "response.json")["model_id"] == "claude-sonnet-5-5"
    batch = json.loads((demo.batch_dir / "batch.json").read_text())
    assert batch["settings"] == {"model": "sonnet"}, "the model sticks; the provider never does (issue 10)"
    assert orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json").json()["dispatched"] == 0
    assert server.stats.requests.get("messages", 0) == 2
