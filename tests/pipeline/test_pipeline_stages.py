"""Each stage alone and in order; reruns skip what is current; edits and clean redo exactly what changed."""

from __future__ import annotations

import json
import os
from collections.abc import Callable

from pipekit import BATCH, ITEMS, Demo, orchestrate

from orchestrator.pipeline.store.checkpoints import encode_json
from orchestrator.sim.server import SimServer

NEW = ("--phase", "1", "--provider", "sim")


def messages(server: SimServer) -> int:
    return server.stats.requests.get("messages", 0)


def test_each_stage_alone_in_sequence(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    acquired = orchestrate("acquire", str(demo.plan), *NEW)
    assert acquired.code == 0, acquired.err
    assert "ACQUIRE: 5 written" in acquired.out and "COMMAND COMPLETE" in acquired.out
    assert sorted(p.name for p in demo.batch_dir.iterdir() if p.is_dir()) == ITEMS
    raw = demo.json("item-0002", "raw.json")
    assert raw["inputs"]["row"]["title"] == "Quorum" and "term: Idempotency" in raw["inputs"]["reference"]["text"]
    assert not demo.item("item-0002", "prompt.md").exists()

    # the /batch-pipeline command's lines: only --batch-id from here on
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    prompt = demo.item("item-0002", "prompt.md").read_text()
    assert "Produce output covering Quorum." in prompt and "<format_reference" in prompt
    assert messages(server) == 0, "nothing before PROCESS calls the model"

    processed = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes")
    assert processed.code == 0, processed.out + processed.err
    assert messages(server) == 5
    assert demo.item("item-0002", "response.md").exists() and not demo.item("item-0002", "parsed.json").exists()
    assert set(demo.statuses().values()) == {"complete", "pending"}, "PROCESS alone records nothing"
    assert not (demo.outputs / "quorum.md").exists()

    parsed = orchestrate("parse", "--batch-id", BATCH)
    assert parsed.code == 0, parsed.out
    assert demo.json("item-0002", "parsed.json")["front_matter"]["term"] == "Quorum"
    assert (demo.outputs / "quorum.md").read_text().startswith("---\nterm: Quorum")
    assert set(demo.statuses().values()) == {"complete"}
    assert "quorum.md" in (demo.outputs / "tracking.yaml").read_text()

    rendered = orchestrate("render", "--batch-id", BATCH)
    assert rendered.code == 0 and demo.report.exists()
    assert (demo.batch_dir / "all_results.json").exists()
    assert messages(server) == 5


def test_rerun_skips_current_checkpoints(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    first = orchestrate("all", str(demo.plan), *NEW, "--yes")
    assert first.code == 0, first.out + first.err
    stamps = {p: p.stat().st_mtime_ns for p in demo.batch_dir.rglob("*.json") if p.name != "batch.json"}
    for stage in ("acquire", "prepare", "parse", "render"):
        again = orchestrate(stage, "--batch-id", BATCH)
        assert again.code == 0
        assert f"{stage.upper()}: 0 " in again.out, again.out
    assert "PROCESS: 0 to dispatch" in orchestrate("process", "--batch-id", BATCH, "--provider", "sim").out
    changed = [p for p, t in stamps.items() if p.exists() and p.stat().st_mtime_ns != t]
    assert changed == [], f"current checkpoints were rewritten: {changed}"
    assert messages(server) == 5


def test_changed_row_makes_its_later_checkpoints_stale(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("acquire", str(demo.plan), *NEW).code == 0
    assert orchestrate("prepare", "--batch-id", BATCH).code == 0
    demo.plan.write_text(demo.plan.read_text().replace("| 3 | Backpressure |", "| 3 | Back-pressure |"))
    before = demo.item("item-0004", "raw.json").stat().st_mtime_ns

    estimate = orchestrate("estimate", "--batch-id", BATCH, "--provider", "sim", "--json").json()
    assert estimate["items"] == 5
    assert orchestrate("acquire", "--batch-id", BATCH).out.startswith("ACQUIRE: 1 written, 4 current")
    assert demo.item("item-0004", "raw.json").stat().st_mtime_ns == before
    process = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes")
    assert "1 blocked" in process.out and "item-0003: prompt.md is stale" in process.out
    assert messages(server) == 4, "a stale prompt is never sent"
    assert orchestrate("prepare", "--batch-id", BATCH).out.startswith("PREPARE: 1 written, 4 current")
    assert "Back-pressure" in demo.item("item-0003", "prompt.md").read_text()
    assert orchestrate("all", "--batch-id", BATCH, "--provider", "sim", "--yes").code == 0
    assert messages(server) == 5, "only the changed row is sent again"


def test_checklist_edit_reparses_without_paying(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("all", str(demo.plan), *NEW, "--yes").code == 0
    demo.plan.write_text(demo.plan.read_text().replace("Output registered in", "Output is registered in"))
    for stage in ("acquire", "prepare", "parse"):
        assert orchestrate(stage, "--batch-id", BATCH).out.startswith(f"{stage.upper()}: 5 ")
    assert messages(server) == 5


def test_clean_process_then_process_redoes_exactly_those(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    assert orchestrate("all", str(demo.plan), *NEW, "--yes").code == 0
    refused = orchestrate("clean", "--batch-id", BATCH, "--clean-stage", "process")
    assert refused.code == 2 and "delete" in refused.out and demo.item("item-0002", "response.md").exists()

    cleaned = orchestrate("clean", "--batch-id", BATCH, "--clean-stage", "process", "--yes")
    assert cleaned.code == 0, cleaned.err
    assert "set row 2 back to pending" in cleaned.out
    for item in ITEMS:
        assert not demo.item(item, "response.md").exists() and not demo.item(item, "parsed.json").exists()
        assert demo.item(item, "prompt.md").exists(), "earlier stages are kept"
    assert not (demo.outputs / "quorum.md").exists() and not demo.report.exists()
    assert demo.statuses() == {"1": "complete", **{str(n): "pending" for n in range(2, 7)}}

    redo = orchestrate("process", "--batch-id", BATCH, "--provider", "sim", "--yes", "--json")
    assert redo.code == 0 and redo.json()["dispatched"] == 5
    assert messages(server) == 10
    assert orchestrate("parse", "--batch-id", BATCH).code == 0
    assert set(demo.statuses().values()) == {"complete"}


def test_clean_keeps_an_output_edited_since(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    assert orchestrate("all", str(demo.plan), *NEW, "--yes").code == 0
    edited = demo.outputs / "quorum.md"
    edited.write_text(edited.read_text() + "\nA human note.\n")
    cleaned = orchestrate("clean", "--batch-id", BATCH, "--clean-stage", "parse", "--yes")
    assert "keep" in cleaned.out and edited.exists()
    assert demo.statuses()["2"] == "complete" and demo.statuses()["3"] == "pending"


def test_batch_found_from_its_id_anywhere_below_cwd(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    assert orchestrate("acquire", str(demo.plan), *NEW, "--batch-id", "2025-01-15").code == 0
    assert (demo.root / "plans" / "data" / "2025-01-15" / "batch.json").exists()
    os.chdir(demo.root)
    assert orchestrate("prepare", "--batch-id", "2025-01-15").code == 0
    missing = orchestrate("prepare", "--batch-id", "nope")
    assert missing.code == 2 and "no batch 'nope'" in missing.err
    bad = orchestrate("prepare", "--batch-id", "../x")
    assert bad.code == 2 and "invalid batch id" in bad.err


def test_limit_takes_the_next_pending_rows(demo: Demo, sim: Callable[..., SimServer]) -> None:
    server = sim()
    first = orchestrate("run", str(demo.plan), *NEW, "--yes", "--limit", "2", "--json")
    assert first.code == 0 and first.json()["dispatched"] == 2
    assert demo.statuses() == {
        "1": "complete",
        "2": "complete",
        "3": "complete",
        "4": "pending",
        "5": "pending",
        "6": "pending",
    }
    second = orchestrate("run", str(demo.plan), "--phase", "1", "--provider", "sim", "--yes", "--limit", "2", "--json")
    assert second.json()["dispatched"] == 2 and demo.statuses()["5"] == "complete"
    assert messages(server) == 4


def test_all_results_is_one_compact_json_document_of_every_item(demo: Demo, sim: Callable[..., SimServer]) -> None:
    sim()
    done = orchestrate("all", str(demo.plan), *NEW, "--yes")
    assert done.code == 0, done.out + done.err
    raw = (demo.batch_dir / "all_results.json").read_bytes()
    data = json.loads(raw)
    assert raw == encode_json(data)  # written item by item, yet byte for byte one compact dump
    assert [item["item"] for item in data["items"]] == sorted(ITEMS)
    assert {item["status"] for item in data["items"]} == {"complete"}
    assert all(item["parsed"]["ok"] for item in data["items"])
    assert not [p for p in demo.batch_dir.iterdir() if p.name.startswith(".all_results")]  # no temp file left
