"""The batch path end to end through the real SDK against the simulator: completes, prices, splits."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from batchkit import TITLES, haiku, journal_files, ledger_lines, make_jobs, run

from orchestrator.batches.ids import CUSTOM_ID_RE, custom_id
from orchestrator.batches.pricing import batch_cost
from orchestrator.models import Usage
from orchestrator.providers.anthropic import request_params
from orchestrator.providers.anthropic_batch import AnthropicBatchProvider
from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]


def test_a_batch_run_completes_every_job(sim: SimServer, tmp_path: Path) -> None:
    jobs = make_jobs()
    report, hooks, api = run(jobs, sim.url, tmp_path)
    assert report.completed == [j.key for j in jobs]
    assert sim.batch_counts() == {"batches_created": 1, "batch_requests_created": len(jobs)}
    assert report.submitted and not report.resumed and not report.recovered
    assert {k: o.ok for k, o in hooks.finished.items()} == {j.key: True for j in jobs}
    assert all(o.content and o.content.startswith("---") for o in hooks.finished.values())
    assert hooks.judged == len(jobs)  # one judgement per response
    assert journal_files(tmp_path) == {"sub-0001": ["collected.json", "collecting", "intent.json", "submitted.json"]}
    (sent,) = api.created
    assert set(sent) == {custom_id(j.key, j.request_hash) for j in jobs}
    assert hooks.progress[-1].batch.ended and hooks.progress[-1].counts.succeeded == len(jobs)


def test_results_come_shuffled_and_are_matched_by_custom_id(sim: SimServer, tmp_path: Path) -> None:
    jobs = make_jobs()
    _, hooks, _ = run(jobs, sim.url, tmp_path)
    order = [key for key, _, _ in hooks.responses]
    assert sorted(order) == sorted(j.key for j in jobs) and order != [j.key for j in jobs]
    for job in jobs:  # each row got the document about its own title
        assert f"term: {TITLES[int(job.row_id) - 2]}" in (hooks.finished[job.key].content or "")


def test_params_are_the_online_request_with_a_one_hour_cache(sim: SimServer, tmp_path: Path) -> None:
    job = make_jobs(["Quorum"])[0]
    provider = AnthropicBatchProvider(api_key="sk-test", base_url=sim.url)
    params = provider.batch_params(job.request)
    online = request_params(job.request)
    assert params["system"][1]["cache_control"] == {"type": "ephemeral", "ttl": "1h"}
    assert online["system"][1]["cache_control"] == {"type": "ephemeral"}
    online["system"][1]["cache_control"] = {"type": "ephemeral", "ttl": "1h"}
    assert dict(params) == dict(online)
    assert provider.batch_pricing and provider.name == "anthropic-batch"


def test_ledger_prices_every_result_at_the_batch_discount(start_sim: Start, tmp_path: Path) -> None:
    sim = start_sim(cache_min_tokens=128)
    jobs = make_jobs()
    report, _, _ = run(jobs, sim.url, tmp_path)
    lines = ledger_lines(tmp_path)
    assert len(lines) == len(jobs) and all(line["batch"] is True and line["batch_id"] for line in lines)
    model = haiku()
    total = 0.0
    for line in lines:
        usage = Usage.from_dict(line["usage"])
        full = (usage.input_tokens * model.input + usage.output_tokens * model.output
                + usage.cache_creation_input_tokens * model.cache_write_1h
                + usage.cache_read_input_tokens * model.cache_read) / 1e6
        assert line["cost_usd"] == pytest.approx(full * 0.5, rel=1e-6)
        assert line["cost_usd"] == pytest.approx(batch_cost(model, usage), rel=1e-6)
        total += line["cost_usd"]
    assert report.cost_usd == pytest.approx(total)
    # the shared prefix was written once (1-hour cache) and read by the others
    assert sum(1 for line in lines if line["usage"]["cache_creation_input_tokens"]) == 1
    assert sum(1 for line in lines if line["usage"]["cache_read_input_tokens"]) == len(jobs) - 1


def test_a_phase_above_the_request_limit_is_split(sim: SimServer, tmp_path: Path) -> None:
    jobs = make_jobs()
    report, _, api = run(jobs, sim.url, tmp_path, max_requests=4)
    assert [len(c) for c in api.created] == [4, 2]
    assert len(report.submitted) == 2 and sim.batch_counts()["batches_created"] == 2
    assert len(report.completed) == len(jobs)
    assert list(journal_files(tmp_path)) == ["sub-0001", "sub-0002"]


def test_a_phase_above_the_byte_limit_is_split(sim: SimServer, tmp_path: Path) -> None:
    jobs = make_jobs()
    one = len(str(request_params(jobs[0].request)))  # about one request's size
    report, _, api = run(jobs, sim.url, tmp_path, max_bytes=int(one * 2.5))
    sizes = [len(c) for c in api.created]
    assert sum(sizes) == len(jobs) and len(sizes) >= 3 and max(sizes) <= 2
    assert len(report.completed) == len(jobs)


def test_a_request_larger_than_a_batch_is_reported_not_sent(sim: SimServer, tmp_path: Path) -> None:
    jobs = make_jobs(["Quorum"])
    report, hooks, _ = run(jobs, sim.url, tmp_path, max_bytes=1000)
    assert report.states == {jobs[0].key: "rejected"} and "bytes" in report.reasons[jobs[0].key]
    assert sim.batch_counts()["batches_created"] == 0
    assert hooks.finished[jobs[0].key].error


def test_custom_ids_match_the_pattern_are_unique_and_stable() -> None:
    keys = ["item-0002", "item-a.b", "item-a b", "item-a/b", "ü" * 80, "", "x" * 200]
    ids = [custom_id(k, "h" * 64) for k in keys]
    assert all(CUSTOM_ID_RE.match(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert custom_id("item-0002", "abc") == custom_id("item-0002", "abc")
    assert custom_id("item-0002", "abc") != custom_id("item-0002", "abd")
    assert custom_id("item-0002", "abc", 1) != custom_id("item-0002", "abc", 0)
    assert custom_id("item-0002", "abc").startswith("item-0002_")


def test_the_estimate_prices_a_batch_with_one_hour_cache_writes_and_shows_the_other_way() -> None:
    from orchestrator.pipeline.estimate import ModelEstimate

    model = haiku()
    usage = Usage(input_tokens=10_000, output_tokens=5_000, cache_creation_input_tokens=2_000,
                  cache_read_input_tokens=50_000)
    batch = ModelEstimate(model, 5, usage, batch=True)
    online = ModelEstimate(model, 5, usage)
    assert batch.cost == pytest.approx(batch_cost(model, usage))
    assert online.cost == pytest.approx(model.cost(usage))
    assert batch.part("cache_write") == pytest.approx(2_000 * model.cache_write_1h / 1e6 * 0.5)
    assert batch.price(usage, batch=False) == pytest.approx(online.cost)
