"""The usage ledger: one line per attempt, written as it happens, totals across runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from dispatch_fakes import CALL_COST, MODEL, USAGE, RecordingHooks, ScriptedProvider, Step, make_job

from orchestrator.dispatch import DispatchSettings, Ledger, LedgerEntry, dispatch
from orchestrator.dispatch.events import DispatchEvent
from orchestrator.errors import RateLimited
from orchestrator.models import Usage

FAST = DispatchSettings(backoff_base_s=0.001, backoff_max_s=0.01)


def lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_one_line_per_attempt_with_kind_outcome_and_cost(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "batch" / "ledger.jsonl")
    provider = ScriptedProvider(
        {
            "0000": [
                Step(error=RateLimited("429 rate_limit_error", retry_after=0.01)),
                Step(text="bad"),
            ]
        }
    )
    report = await dispatch([make_job("0000")], provider, RecordingHooks(), FAST, ledger=ledger)
    rows = lines(ledger.path)
    assert [(r["attempt"], r["kind"], r["outcome"]) for r in rows] == [
        (1, "call", "rate_limited"),
        (2, "call", "invalid"),
        (3, "repair", "ok"),
    ]
    assert rows[0]["cost_usd"] == 0.0 and "429" in str(rows[0]["error"])
    assert rows[1]["usage"] == USAGE.as_dict() and rows[1]["cost_usd"] == pytest.approx(CALL_COST)
    assert {r["key"] for r in rows} == {"0000"} and {r["row_id"] for r in rows} == {"row-0000"}
    assert {r["model"] for r in rows} == {MODEL.id}
    assert all(isinstance(r["ts"], str) and isinstance(r["latency_s"], float) for r in rows)
    usage, cost = ledger.totals()
    assert usage == report.usage == USAGE + USAGE
    assert cost == pytest.approx(report.cost_usd)


async def test_a_job_finishes_only_once_its_line_is_on_disk(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    seen: list[tuple[str | None, set[str]]] = []
    hooks = RecordingHooks()

    def on_event(event: DispatchEvent) -> None:
        if event.kind == "finished":
            seen.append((event.key, {line["key"] for line in ledger.entries()}))

    hooks.on_event_extra = on_event
    provider = ScriptedProvider()
    await dispatch(
        [make_job("0000"), make_job("0001")],
        provider,
        hooks,
        DispatchSettings(workers=1),
        ledger=ledger,
    )
    assert sorted(key or "" for key, _ in seen) == ["0000", "0001"]  # in any order: each when its line is
    assert all(key in on_disk for key, on_disk in seen), "a response counts as received once its line is durable"


async def test_totals_include_earlier_runs(tmp_path: Path) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    for key in ("0000", "0001"):
        await dispatch([make_job(key)], ScriptedProvider(), RecordingHooks(), FAST, ledger=ledger)
    usage, cost = Ledger(ledger.path).totals()
    assert usage == USAGE + USAGE and cost == pytest.approx(2 * CALL_COST)


def test_a_partial_last_line_is_skipped_and_the_next_entry_starts_a_new_line(
    tmp_path: Path,
) -> None:
    ledger = Ledger(tmp_path / "ledger.jsonl")
    entry = LedgerEntry("0000", "r", MODEL.id, 1, "call", "ok", Usage(10, 5), 0.5)
    ledger.record(entry)
    with ledger.path.open("a") as handle:
        handle.write('{"key": "0001", "usage": {"input_tokens": 99')  # a crash mid-line
    assert ledger.totals() == (Usage(10, 5), 0.5)
    ledger.record(entry)
    assert ledger.totals() == (Usage(20, 10), 1.0)
    assert len(list(ledger.entries())) == 2


def test_a_missing_ledger_totals_zero(tmp_path: Path) -> None:
    assert Ledger(tmp_path / "none.jsonl").totals() == (Usage(), 0.0)
