"""The provider is chosen by the command, shown before the estimate, and bound to the batch's responses.

Issue 10, finding 1: after ``run --provider sim``, ``clean --clean-stage
process`` and ``ANTHROPIC_API_KEY=... run``, the batch kept ``"provider":
"sim"``, five simulated rows were recorded complete, and no line of the output
named the provider. The "real" API here is a second simulator reached by the
real ``anthropic`` provider and SDK through ``ANTHROPIC_BASE_URL``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from moneykit import ledger_lines, tree_state, use_api
from pipekit import BATCH, ITEMS, Demo, orchestrate

from orchestrator.sim.server import SimServer

SIM = ("--provider", "sim")


def _messages(server: SimServer) -> int:
    return server.stats.snapshot().requests.get("messages", 0)


def test_rehearsal_clean_then_real_run_uses_the_api_and_names_it(
    demo: Demo, sim: Callable[..., SimServer], api: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    rehearsal, real = sim(), api()
    first = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes")
    assert first.code == 0, first.err
    assert "Provider: sim (--provider sim): the local API SIMULATOR" in first.out
    cleaned = orchestrate("clean", "--batch-id", BATCH, "--clean-stage", "process", "--yes")
    assert cleaned.code == 0, cleaned.err
    use_api(monkeypatch, real.url)

    second = orchestrate("run", str(demo.plan), "--phase", "1", "--yes")

    assert second.code == 0, second.out + second.err
    out = second.out
    assert "Provider: anthropic (no --provider given and ANTHROPIC_API_KEY is set)" in out
    assert f"Endpoint: {urlsplit(real.url).netloc}" in out
    assert "Model: haiku (claude-haiku-5-5): 5 row(s): 2, 3, 4, 5, 6" in out
    assert out.index("Provider: anthropic") < out.index("COST ESTIMATE"), "the provider is named before the estimate"
    assert "SIMULATED" not in out.split("PROCESSING:")[1], "a real run's summary is not marked simulated"
    assert _messages(real) == 5 and _messages(rehearsal) == 5, "the real run went to the API, not the simulator"
    settings = json.loads((demo.batch_dir / "batch.json").read_text())["settings"]
    assert "provider" not in settings, "the provider does not stick to the batch"
    lines = ledger_lines(demo.batch_dir / "ledger.jsonl")
    assert [line["provider"] for line in lines] == ["sim"] * 5 + ["anthropic"] * 5
    assert {demo.json(item, "response.json")["provider"] for item in ITEMS} == {"anthropic"}
    page = demo.report.read_text(encoding="utf-8")
    assert page.count('<div class="via">via anthropic</div>') == 5 and "<strong>Simulated:</strong>" not in page


def test_sim_responses_and_a_real_provider_stop_with_exit_2_writing_nothing(
    demo: Demo, sim: Callable[..., SimServer], api: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim()
    real = api()
    rehearsal = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--limit", "2")
    assert rehearsal.code == 0, rehearsal.err
    before = tree_state(demo.root)
    use_api(monkeypatch, real.url)

    refused = orchestrate("run", str(demo.plan), "--phase", "1", "--yes")

    assert refused.code == 2, refused.out + refused.err
    err = refused.err
    assert "2 from sim (simulated): item-0002, item-0003" in err and "nothing was written" in err
    assert f"orchestrate run --batch-id {BATCH} --provider sim" in err, "how to continue the rehearsal"
    assert f"orchestrate clean --batch-id {BATCH} --clean-stage process" in err, "how to start over for real"
    assert real.stats.snapshot().requests == {}, "not even a token count reached the API"
    assert tree_state(demo.root) == before, "nothing was written"
    process = orchestrate("process", "--batch-id", BATCH, "--yes")
    assert process.code == 2 and "from sim (simulated)" in process.err


def test_without_a_provider_the_hint_names_the_batchs_provider(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    assert orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--limit", "1").code == 0
    again = orchestrate("process", "--batch-id", BATCH, "--yes")
    assert again.code == 2
    assert "this batch's responses came from sim" in again.err
    assert f"orchestrate process --batch-id {BATCH} --provider sim" in again.err


def test_simulated_outputs_are_marked_wherever_they_are_shown(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    result = orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--json")
    assert result.code == 0, result.err
    data = result.json()
    assert data["simulated"] is True and data["cost_is"] == "simulated"
    assert data["provider"]["name"] == "sim" and data["provider"]["simulated"] is True
    assert data["heading"] == f"BATCH COMPLETE (SIMULATED): {BATCH}"
    assert all(row["provider"] == "sim" and row["simulated"] for row in data["rows"])
    assert data["all_runs"]["simulated_cost_usd"] == data["all_runs"]["cost_usd"] > 0
    assert "COST ESTIMATE (SIMULATED RUN: nothing is billed)" in result.err
    page = demo.report.read_text(encoding="utf-8")
    assert "<strong>Simulated:</strong> 5 of 5 row(s)" in page and page.count('class="sim">simulated<') == 5
    assert page.count('<div class="via">via sim</div>') == 5, "each report row records its provider"
    text = orchestrate("run", "--batch-id", BATCH, *SIM, "--yes").out
    assert "Actual cost: $0.0000 (SIMULATED: the simulator's tokens at real prices; nothing was billed)" in text
    assert "Cost: $0.0000 (simulated)" in text


def test_status_and_the_tracking_file_mark_simulated_outputs(
    demo: Demo, sim: Callable[..., SimServer], api: Callable[..., SimServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    sim()
    assert orchestrate("run", str(demo.plan), "--phase", "1", *SIM, "--yes", "--limit", "2").code == 0
    tracking = (demo.outputs / "tracking.yaml").read_text(encoding="utf-8")
    assert tracking.count("provider: sim") == 2
    notes = demo.plan.read_text(encoding="utf-8").split("## Run Notes")[1]
    assert "- Phase 1, row 2 (quorum.md): SIMULATED output (--provider sim): a rehearsal, not real work" in notes
    assert notes.count("SIMULATED output") == 2
    status = orchestrate("status", str(demo.plan), "--phase", "1")
    assert "2 SIMULATED (--provider sim: not real output)" in status.out
    marked = [line for line in status.out.splitlines() if line.endswith("SIMULATED")]
    assert [line.split()[0] for line in marked] == ["2", "3"], "row 1 was written by hand, not simulated"
    rows = json.loads(orchestrate("status", str(demo.plan), "--json").out)["phases"][0]["rows"]
    assert [r["id"] for r in rows if r["simulated"]] == ["2", "3"]
    # real outputs carry their provider too, and are not marked
    orchestrate("clean", "--batch-id", BATCH, "--clean-stage", "process", "--yes")
    assert "SIMULATED" not in demo.plan.read_text(encoding="utf-8"), "no longer complete: the note goes"
    use_api(monkeypatch, api().url)
    assert orchestrate("run", str(demo.plan), "--phase", "1", "--yes").code == 0
    assert "SIMULATED" not in orchestrate("status", str(demo.plan), "--phase", "1").out
    assert "SIMULATED" not in demo.plan.read_text(encoding="utf-8") and "## Run Notes" not in demo.plan.read_text()
    assert "provider: anthropic" in (demo.outputs / "tracking.yaml").read_text(encoding="utf-8")


def test_estimate_names_the_provider_that_counted(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    counted = orchestrate("estimate", str(demo.plan), "--phase", "1", *SIM)
    assert counted.out.startswith("Provider: sim (--provider sim): the local API SIMULATOR")
    assert "COST ESTIMATE: glossary-phase1" in counted.out, "the dollars are what a real run would cost"
    local = orchestrate("estimate", str(demo.plan), "--phase", "1")
    assert local.out.startswith("COST ESTIMATE") and "(local estimate: characters / 4)" in local.out
