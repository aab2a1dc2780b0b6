"""Small pieces of the pipeline, without a simulator."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pipekit import Demo, orchestrate

from orchestrator.dispatch.events import DispatchEvent
from orchestrator.errors import BadInputError
from orchestrator.models import Usage
from orchestrator.pipeline.estimate import local_tokens
from orchestrator.pipeline.judge import Judge
from orchestrator.pipeline.slash_command import COMMAND_PATH
from orchestrator.pipeline.store.batch import default_batch_id, find_batch, item_id, new_batch
from orchestrator.pipeline.view.progress import Progress, bar
from orchestrator.pipeline.view.summary import RowResult, RunSummary, per_mtok, usd


def test_names() -> None:
    assert default_batch_id(Path("plans/glossary.md"), 2) == "glossary-phase2"
    assert default_batch_id(Path("My Plan.md"), 1) == "My-Plan-phase1"
    assert item_id("2") == "item-0002" and item_id("12") == "item-0012" and item_id("a/b") == "item-a-b"
    with pytest.raises(BadInputError):
        new_batch(Path("p.md"), 1, "../escape")


def test_find_batch_searches_data_folders_below(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "data" / "X1"
    target.mkdir(parents=True)
    (target / "batch.json").write_text("{}")
    assert find_batch("X1", cwd=tmp_path) == target / "batch.json"
    assert find_batch("X2", cwd=tmp_path) is None
    assert find_batch("X1", data_dir=tmp_path / "a" / "b" / "data") == target / "batch.json"


def test_bar_and_prices() -> None:
    assert bar(60, 100) == "[████████████░░░░░░░░] 60/100 (60%)"
    assert bar(0, 0).endswith("0/0 (100%)")
    assert usd(4.0) == "$4.00" and usd(0.00081) == "$0.0008"
    assert per_mtok(0.1) == "$0.10/MTok" and per_mtok(0.125) == "$0.125/MTok"
    assert local_tokens("abcdefghi") == 3 and local_tokens("") == 0


def test_progress_prints_one_plain_line_per_event() -> None:
    stream = io.StringIO()
    with Progress(
        "b1", workers=2, models="claude-haiku-5-5", total=2, estimated_tokens=1000, stream=stream, live=False,
        titles={"item-0002": "Quorum"},
    ) as progress:
        progress.event(DispatchEvent("started", key="item-0002"))
        progress.event(DispatchEvent("retry", key="item-0002", reason="rate_limited", delay_s=1.0))
        progress.event(DispatchEvent("response", key="item-0002", usage=Usage(400, 200)))
        progress.item_finished("item-0002", True, 1245, None)
        progress.item_finished("item-0003", False, 0, "category 'Consistent' is not allowed")
    lines = stream.getvalue().splitlines()
    assert lines[:4] == ["PROCESSING: b1", "=" * 14, "Workers: 2", "Model: claude-haiku-5-5"]
    assert "item-0002 (Quorum): Error - Rate limited, queued for retry" in lines[4]  # rows named by title too
    assert lines[5] == "[██████████░░░░░░░░░░] 1/2 (50%) item-0002 (Quorum): Done (1,245 chars)"
    assert lines[6].endswith("item-0003: Failed - category 'Consistent' is not allowed")
    assert "├── Success rate: 50%" in lines and "├── Tokens used: 600 (of 1,000 estimated)" in lines


def test_summary_text_has_the_seed_blocks(tmp_path: Path) -> None:
    rows = [
        RowResult("item-0002", "2", "Quorum", "complete", "haiku", 1, 600, 0.01, True, "complete"),
        RowResult("item-0003", "3", "B", "pending", "haiku", 3, 900, 0.02, False, "parse_error", "bad enum"),
    ]
    summary = RunSummary(
        "b1",
        1,
        "run",
        tmp_path / "data" / "b1",
        tmp_path / "index.html",
        rows,
        dispatched=2,
        attempts=4,
        usage=Usage(1000, 500),
        cost_usd=0.03,
        rerun_command="orchestrate all --batch-id b1",
    )
    text = summary.text()
    for line in (
        "BATCH INCOMPLETE: b1",  # a row failed validation: not COMPLETE (issue 10)
        "Total items: 2",
        "Successful: 1",
        "Failed: 0",
        "Parse errors: 1",
        "Cost Summary:",
        "├── Actual tokens: 1,500",
        "Next Steps:",
        "3. Re-run failures with: orchestrate all --batch-id b1",
        "item-0003 (B) (row 3): bad enum",
    ):
        assert line in text, line
    assert summary.as_dict()["pending"] == 1 and summary.as_dict()["tokens"]["total"] == 1500


def test_output_path_never_leaves_the_output_directory(tmp_path: Path) -> None:
    judge = Judge(compiled=None, plan_dir=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(BadInputError, match="outside the Output Directory"):
        judge.output_path("out/", "../../etc/x.md")
    assert judge.output_path("out/", "ok.md") == (tmp_path / "out" / "ok.md").resolve()


def test_checkpoint_records_write_back_exactly_the_json_they_were_read_from(tmp_path: Path) -> None:
    from orchestrator.pipeline.store.records import ParsedRecord, PromptRecord, RawRecord, ResponseRecord

    raw = {
        "item": "item-0002", "stage": "acquire", "input_hash": "h",
        "inputs": {
            "phase": 1,
            "row": {"id": "2", "title": "Quorum", "filename": "quorum.md", "model": "haiku", "cells": {"#": "2"}},
            "plan": {"format_reference": "ref.md", "output_directory": "out/", "content_rules": ["a"], "checklist": []},
            "reference": {"sha256": "s", "text": "---\nterm: x\n---\n"},
        },
        "acquired_at": "2026-12-01T00:00:00+00:00",
    }
    prompt = {"item": "item-0002", "stage": "prepare", "inputs": {"raw": "h"}, "prompt_sha256": "p", "row_id": "2",
              "title": "Quorum", "model": "haiku", "system": "S", "shared": "R", "row": "W", "prepared_at": "t"}
    response = {"item": "item-0002", "stage": "process", "inputs": {"request": "k"}, "model_id": "m", "model": "haiku",
                "response_sha256": "r", "stop_reason": "end_turn",
                "usage": {"input_tokens": 3, "output_tokens": 4, "cache_creation_input_tokens": 0,
                          "cache_read_input_tokens": 0},
                "latency_s": 0.5, "request_id": None, "attempt": 2,
                "history": [{"role": "assistant", "text": "d"}, {"role": "user", "text": "fix"}],
                "verdict": {"ok": False, "failures": ["line 3: bad"], "notes": []}, "final": False,
                "received_at": "t", "provider": "sim"}
    parsed = {"item": "item-0002", "stage": "parse", "inputs": {"raw": "h", "response": "r"}, "row_id": "2",
              "title": "Quorum", "ok": True, "failures": [], "notes": ["stripped a fence"],
              "checks": [{"name": "sections.order", "ok": True, "line": None, "message": "", "skipped": False,
                          "kind": "output"}],
              "output": "/x/out/quorum.md", "output_sha256": "o", "written": True, "parsed_at": "t",
              "front_matter": {"term": "Quorum", "tags": ["a", "b"]}, "sections": ["Definition"]}
    for kind, data in ((RawRecord, raw), (PromptRecord, prompt), (ResponseRecord, response), (ParsedRecord, parsed)):
        record = kind.from_json(data)
        assert record.to_json() == data, kind.__name__
    assert RawRecord.from_json(raw).key.item == "item-0002"
    assert ResponseRecord.from_json(response).verdict is not None


def test_init_claude_installs_the_slash_command(tmp_path: Path) -> None:
    result = orchestrate("init-claude", str(tmp_path))
    assert result.code == 0
    body = (tmp_path / COMMAND_PATH).read_text()
    assert "orchestrate $ARGUMENTS" in body and "Proceed with processing? [y/N]" in body
    assert body.startswith("---\ndescription: ") and "allowed-tools: Bash(orchestrate:*)" in body
    (tmp_path / COMMAND_PATH).write_text("mine")
    assert orchestrate("init-claude", str(tmp_path)).code == 2
    assert orchestrate("init-claude", str(tmp_path), "--force").code == 0


def test_stage_before_acquire_says_what_to_run(demo: Demo) -> None:
    result = orchestrate("prepare", str(demo.plan), "--phase", "1")
    assert result.code == 2 and "acquire" in result.err
    assert orchestrate("process", str(demo.plan), "--phase", "9").code == 2


def test_help_lists_the_seed_options() -> None:
    text = orchestrate("process", "--help").out
    for option in ("--batch-id", "--limit", "--workers", "--model", "--yes", "--max-cost", "--provider"):
        assert option in text
    assert "--clean-stage" in orchestrate("clean", "--help").out


def test_a_held_plan_lock_refuses_a_second_run(demo: Demo) -> None:
    from orchestrator.recorder import PlanLock

    lock = PlanLock(demo.plan)
    lock.acquire()
    try:
        result = orchestrate("acquire", str(demo.plan), "--phase", "1")
    finally:
        lock.release()
    assert result.code == 1 and "error:" in result.err
    assert not demo.batch_dir.exists()
    assert orchestrate("acquire", str(demo.plan), "--phase", "1").code == 0
