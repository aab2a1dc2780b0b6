"""Benchmark the Message Batches path: 10,000 rows submitted, polled and collected.

Run manually from the repository root::

    python bench/bench_batch.py              # 10,000 rows
    python bench/bench_batch.py --rows 2000  # smaller

Against ``python -m orchestrator.sim`` in its own process with zero batch
delay, it runs, each phase in a fresh Python process so each peak RSS is its own:

* **submit**: :func:`orchestrator.batches.run_batches` with ``wait=False``
  (build every request, write the intent, POST one batch, write its id);
* **poll + collect**: ``run_batches`` again, which finds the submission in the
  journal, polls it until it has ended (**poll**) and streams the results:
  each one checkpointed through the hooks, judged, group-committed to the
  ledger at the batch price and finished (**collect**);

and, side by side against a fresh simulator, a bare script with the same SDK
doing the least it can (create; retrieve until ended; stream the results),
so each phase's ratio to it is the tool's own cost. Wall time is measured
inside each process (imports excluded); peak RSS is the process's ``ru_maxrss``
at the end of the phase.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchkit import simulator

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = """---
term: Idempotency
category: Reliability
tags: [reliability, api-design, retries]
---

## Definition

An operation is idempotent if doing it twice has the same effect as doing it once.

## Related Terms

Exactly-once delivery.
"""
RULES = "Follow these content rules: category must be one of: Reliability, Consistency, Concurrency, Scalability."




def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the phases, each run as `python bench_batch.py --phase NAME URL FOLDER ROWS` -----------------


def jobs(rows: int) -> list[Any]:
    from orchestrator.batches import BatchJob
    from orchestrator.models import load_model_table
    from orchestrator.prompts import SYSTEM_INSTRUCTIONS
    from orchestrator.providers.base import CallRequest, Turn

    model = load_model_table().resolve("haiku")
    shared = f'<format_reference path="ref/idempotency.md">\n{REFERENCE}</format_reference>\n\n{RULES}'
    out = []
    for i in range(rows):
        title = f"Topic {i}"
        request = CallRequest(model.id, SYSTEM_INSTRUCTIONS, shared,
                              (Turn("user", f"Produce output covering {title}.\nWrite the output to out/t{i}.md."),),
                              2000)
        out.append(BatchJob(f"item-{i:05d}", str(i), model, request, f"{i:064x}"))
    return out


class Hooks:
    """Checkpoint-free hooks that judge like a validator would (front matter, enum, sections)."""

    def __init__(self) -> None:
        self.finished = 0
        self.ok = 0
        self.ended_at: float | None = None
        self.ended_rss: float | None = None

    async def on_response(self, job: Any, turns: Any, result: Any, attempt: int) -> None:
        pass

    async def judge(self, job: Any, result: Any) -> Any:
        from orchestrator.dispatch.jobs import Verdict

        match = re.match(r"---\n(.*?)\n---\n", result.text, re.DOTALL)
        ok = bool(match) and re.search(r"^category: (Reliability|Consistency|Concurrency|Scalability)$",
                                       match.group(1) if match else "", re.MULTILINE) is not None
        return Verdict(ok, result.text if ok else None, [] if ok else ["bad front matter"])

    async def on_finished(self, job: Any, outcome: Any) -> None:
        self.finished += 1
        self.ok += outcome.ok

    def on_progress(self, progress: Any) -> None:
        if progress.batch.ended and self.ended_at is None:
            self.ended_at, self.ended_rss = time.perf_counter(), peak_mb()

    def on_event(self, event: Any) -> None:
        pass


async def tool_phase(phase: str, url: str, folder: Path, rows: int) -> dict[str, Any]:
    from orchestrator.batches import BatchRunSettings, run_batches
    from orchestrator.dispatch.ledger import Ledger
    from orchestrator.providers.anthropic_batch import AnthropicBatchProvider

    api = AnthropicBatchProvider(api_key="sk-bench", base_url=url)
    hooks = Hooks()
    todo = jobs(rows)
    settings = BatchRunSettings(wait=phase != "submit", poll_initial_s=0.2, poll_max_s=1.0, repair_attempts=0)
    started = time.perf_counter()
    report = await run_batches(todo, api, hooks, folder, settings, ledger=Ledger(folder / "ledger.jsonl"))
    done = time.perf_counter()
    await api.aclose()
    if phase == "submit":
        assert len(report.submitted) == 1 and len(report.processing) == rows, report.states
        return {"submit": {"s": done - started, "rss_mb": peak_mb()}}
    assert not report.submitted and hooks.finished == rows and hooks.ended_at is not None, report.states
    return {"poll": {"s": hooks.ended_at - started, "rss_mb": hooks.ended_rss},
            "collect": {"s": done - hooks.ended_at, "rss_mb": peak_mb()}, "ok": hooks.ok}


async def bare_phase(phase: str, url: str, folder: Path, rows: int) -> dict[str, Any]:
    """The same batch through the SDK alone, in the same two processes: the floor of each phase."""
    import anthropic

    from orchestrator.providers.anthropic import request_params

    api = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=url, max_retries=0)
    id_file = folder / "bare-batch-id"
    t0 = time.perf_counter()
    if phase == "bare-submit":
        todo = jobs(rows)
        requests: Any = [{"custom_id": f"r{i}", "params": request_params(j.request, ttl="1h")}
                         for i, j in enumerate(todo)]
        batch = await api.messages.batches.create(requests=requests)
        folder.mkdir(parents=True, exist_ok=True)
        id_file.write_text(batch.id)
        await api.close()
        return {"submit": {"s": time.perf_counter() - t0, "rss_mb": peak_mb()}}
    batch_id = id_file.read_text()
    while (await api.messages.batches.retrieve(batch_id)).processing_status != "ended":
        await asyncio.sleep(0.2)
    t1, rss = time.perf_counter(), peak_mb()
    got = 0
    async for line in await api.messages.batches.results(batch_id):
        got += line.result.type == "succeeded"
    t2 = time.perf_counter()
    await api.close()
    assert got == rows
    return {"poll": {"s": t1 - t0, "rss_mb": rss}, "collect": {"s": t2 - t1, "rss_mb": peak_mb()}}


def child(argv: list[str]) -> None:
    phase, url, folder, rows = argv[0], argv[1], Path(argv[2]), int(argv[3])
    if phase.startswith("bare"):
        result = asyncio.run(bare_phase(phase, url, folder, rows))
    else:
        result = asyncio.run(tool_phase(phase, url, folder, rows))
    print(json.dumps(result))


def run_child(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "--phase", *args], capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--phase", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        child(args.phase)
        return
    import anthropic

    config = "batch_delay_ms=0,seed=7"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "batch"
        with simulator(config) as url:
            tool = run_child("submit", url, str(folder), str(args.rows))
            tool.update(run_child("collect", url, str(folder), str(args.rows)))
        with simulator(config) as url:
            bare = run_child("bare-submit", url, str(folder), str(args.rows))
            bare.update(run_child("bare-collect", url, str(folder), str(args.rows)))
    print(f"Message Batches path, {args.rows:,} rows, simulator batch delay 0 "
          f"(Python {platform.python_version()}, anthropic {anthropic.__version__}, {os.cpu_count()} CPUs)")
    print(f"{'phase':<9}{'tool s':>9}{'bare SDK s':>12}{'ratio':>8}{'tool peak RSS':>15}{'bare peak RSS':>15}")
    for phase in ("submit", "poll", "collect"):
        ours, floor = tool[phase]["s"], bare[phase]["s"]
        ratio = f"{ours / floor:.2f}x" if floor > 0.05 else "-"
        print(f"{phase:<9}{ours:>9.2f}{floor:>12.2f}{ratio:>8}{tool[phase]['rss_mb']:>12.0f} MB"
              f"{bare[phase]['rss_mb']:>12.0f} MB")
    total = sum(tool[p]["s"] for p in ("submit", "poll", "collect"))
    floor_total = sum(bare[p]["s"] for p in ("submit", "poll", "collect"))
    print(f"{'total':<9}{total:>9.2f}{floor_total:>12.2f}{total / floor_total:>7.2f}x")
    print(f"valid rows: {tool['ok']:,} of {args.rows:,}")


if __name__ == "__main__":
    main()
