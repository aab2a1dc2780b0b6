"""``orchestrate batches list|status|cancel`` against the simulator, through the real entry point."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from batchkit import make_jobs, run
from click.testing import CliRunner

from orchestrator.cli.main import main
from orchestrator.pipeline.store.batch import new_batch
from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]
REPO = Path(__file__).resolve().parents[2]


def orchestrate(*args: str) -> tuple[int, str, str]:
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(list(args))
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        return code, out.getvalue().decode(), err.getvalue().decode()


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    (tmp_path / "plans").mkdir()
    shutil.copy(REPO / "plans" / "glossary.md", tmp_path / "plans" / "glossary.md")
    return tmp_path / "plans" / "glossary.md"


def submitted(plan: Path, sim: SimServer) -> Path:
    """A batch folder for phase 1 with one submission still running (submitted with wait=False)."""
    batch = new_batch(plan, 1)
    batch.save()
    report, _, _ = run(make_jobs(), sim.url, batch.dir, wait=False)
    assert report.processing
    return batch.dir


def test_list_reads_the_journal_without_a_key(start_sim: Start, plan: Path) -> None:
    folder = submitted(plan, start_sim(batch_delay_ms=5000))
    code, out, _ = orchestrate("batches", "list", str(plan), "--json")
    assert code == 0
    (row,) = json.loads(out)["submissions"]
    assert row["batch_folder"] == folder.name and row["state"] == "submitted" and row["requests"] == 6
    assert row["batch_id"].startswith("msgbatch_") and row["counts"] is None  # no API call made
    code, out, _ = orchestrate("batches", "list", "--batch-id", folder.name, "--data-dir", str(folder.parent))
    assert code == 0 and "sub-0001" in out and "6 requests" in out


def test_status_and_cancel(start_sim: Start, plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sim = start_sim(batch_delay_ms=5000)
    folder = submitted(plan, sim)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.url)
    code, out, _ = orchestrate("batches", "status", str(plan), "--json")
    (row,) = json.loads(out)["submissions"]
    assert code == 0 and row["processing_status"] == "in_progress" and row["counts"]["processing"] == 6
    code, _, err = orchestrate("batches", "cancel", str(plan))  # no terminal, no --yes: refused
    assert code == 2 and "--yes" in err
    code, out, _ = orchestrate("batches", "cancel", str(plan), "--yes")
    assert code == 0 and "canceling" in out and "stay pending" in out
    assert (folder / "batches" / "sub-0001" / "cancel.json").is_file()
    report, hooks, _ = run(make_jobs(), sim.url, folder)  # the next run collects: nothing completes unvalidated
    assert set(report.states.values()) == {"canceled"} and not any(o.ok for o in hooks.finished.values())
    assert sim.batch_counts()["batches_created"] == 1


def test_nothing_recorded_is_not_an_error(plan: Path) -> None:
    code, out, _ = orchestrate("batches", "list", str(plan))
    assert code == 0 and "no Message Batches recorded" in out
    code, _, err = orchestrate("batches", "list", "--batch-id", "nope")
    assert code == 2 and "no batch 'nope'" in err and "hint:" in err
