"""Whole-process benchmark: ``orchestrate run`` against a bare-SDK script, side by side.

Run from the repository root (the package installed, e.g. ``pip install -e .``)::

    python bench/bench_run.py                 # every scenario; rewrites the docs section
    python bench/bench_run.py --quick         # 200 rows only, docs untouched
    python bench/bench_run.py --scenario 1000x200 --rounds 3

Both sides are timed as a user runs them: a fresh process from start to exit,
against the simulator (``python -m orchestrator.sim``) running in its own
process with a fixed latency. The bare script is what a person would write
without this tool: ``AsyncAnthropic`` with ``max_retries=0``, a
``Semaphore(workers)``, the same requests (built beforehand by the prompt
builder, not timed), and each response written to its own file. ``orchestrate
run`` does everything it always does: estimate (count-tokens calls), every
stage, validation, checkpoints, the ledger, recording the Status cells, the
tracking file and the HTML report.

Runs alternate (bare, ours, bare, ours...) so both see the same machine, and
the ratio is of the medians. Nothing is deleted until every scenario has run:
on ext4 without a journal, creating a file looks past every inode deleted in
the last few minutes (``recently_deleted`` in the kernel's ``ialloc.c``), so
removing one scenario's files made the next one's file creation up to ten
times slower, seven times more for ``orchestrate run`` (seven files a row)
than for the bare script (one). For the same reason, do not start it right
after the test suite, which deletes thousands of temporary folders. Peak RSS
comes from ``wait4``'s rusage of each child. The dispatcher-only figure stays
in ``bench/bench_dispatch.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchkit import simulator

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "Whole command"

REFERENCE = """---
term: Idempotency
category: Reliability
tags: [distributed-systems, reliability, api-design]
---

## Definition

An operation is idempotent if performing it more than once produces the same effect as performing it
exactly once.

## Details

| Aspect | Value |
|--------|-------|
| Typical mechanism | A client-supplied idempotency key the server deduplicates against |

## Related Terms

Exactly-once delivery tries to guarantee an operation happens once at the transport level.
"""

PLAN_HEAD = """# Batch Creation Plan

## Format Reference
ref/idempotency.md

## Output Directory
output/

## Content Rules
- Every output needs front matter: term, category, tags
- category must be one of: Consistency, Concurrency, Scalability, Reliability
- Include Definition, Details, and Related Terms sections, in that order
- Blank line before every markdown table

## Validation Checklist
1. Front matter includes term, category, and at least 2 tags
2. category is one of the four values listed in Content Rules
3. Definition, Details, and Related Terms sections present, in that order
4. Output registered in output/tracking.yaml

## Phase 1
| # | Title | Filename | Model | Status |
|---|-------|----------|-------|--------|
"""

BARE_SCRIPT = r'''
import asyncio, json, sys
from pathlib import Path
import anthropic

async def main() -> None:
    url, requests_file, out_dir, workers = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
    requests = json.loads(Path(requests_file).read_text())
    client = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=url, max_retries=0)
    gate = asyncio.Semaphore(workers)

    async def one(req: dict) -> None:
        async with gate:
            msg = await client.messages.create(**req["params"])
        Path(out_dir, req["filename"]).write_text(msg.content[0].text)

    out_dir.mkdir(parents=True, exist_ok=True)
    await asyncio.gather(*(one(r) for r in requests))
    await client.close()

asyncio.run(main())
'''


@dataclass(frozen=True)
class Scenario:
    rows: int
    latency_ms: int
    workers: int
    rounds: int = 2

    @property
    def name(self) -> str:
        return f"{self.rows}x{self.latency_ms}"


SCENARIOS = {
    "1000x200": Scenario(1000, 200, 50),
    "5000x50": Scenario(5000, 50, 100),
    "1000x0": Scenario(1000, 0, 50),
    "10000x0": Scenario(10000, 0, 50, rounds=1),
}




def make_project(folder: Path, rows: int) -> Path:
    """A plan with ``rows`` pending rows and its format reference; returns the plan path."""
    (folder / "ref").mkdir(parents=True)
    (folder / "ref" / "idempotency.md").write_text(REFERENCE)
    lines = [f"| {i} | Term number {i} | term-{i:05d}.md | haiku | pending |" for i in range(1, rows + 1)]
    plan = folder / "plan.md"
    plan.write_text(PLAN_HEAD + "\n".join(lines) + "\n")
    return plan


def bare_requests(plan: Path, target: Path) -> None:
    """The requests ``orchestrate run`` would send, as SDK keyword arguments (built once, untimed)."""
    from orchestrator.models import load_model_table
    from orchestrator.plan.parser import read_plan
    from orchestrator.prompts import build_request
    from orchestrator.providers.anthropic import message_params, system_blocks
    from orchestrator.providers.base import CallRequest, Turn

    loaded = read_plan(plan)
    reference = (plan.parent / "ref" / "idempotency.md").read_text()
    model = load_model_table().resolve("haiku")
    out = []
    for row in loaded.phases[0].rows:
        built = build_request(loaded, row, reference)
        request = CallRequest(model.id, built.system, built.shared, (Turn("user", built.row),), model.max_output_tokens)
        params = {
            "model": model.id,
            "max_tokens": request.max_tokens,
            "system": system_blocks(request),
            "messages": message_params(request),
        }
        out.append({"filename": row.filename, "params": params})
    target.write_text(json.dumps(out))


def timed(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MB) and CPU seconds (user + system) of one child process, run to its exit.

    The CPU figure counts the child and the helpers it waited for (the judge and
    checkpoint processes): on a machine whose cores the simulator also needs,
    CPU spent anywhere is time taken from the calls.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv[:3])} exited {proc.returncode}: {err[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def orchestrate_argv(plan: Path, workers: int) -> list[str]:
    exe = shutil.which("orchestrate") or "orchestrate"
    return [exe, "run", str(plan), "--phase", "1", "--provider", "anthropic", "--yes", "--workers", str(workers)]


def run_scenario(sc: Scenario, scratch: Path) -> dict[str, float]:
    bare_walls: list[float] = []
    ours_walls: list[float] = []
    bare_rss: list[float] = []
    ours_rss: list[float] = []
    script_dir = scratch / sc.name
    script_dir.mkdir()
    script = script_dir / "bare.py"
    script.write_text(BARE_SCRIPT)
    with simulator(f"seed=7,latency_ms={sc.latency_ms}") as url:
        env = {**os.environ, "ANTHROPIC_API_KEY": "sk-bench", "ANTHROPIC_BASE_URL": url, "NO_COLOR": "1"}
        env.pop("ORCHESTRATE_SIM", None)
        for rnd in range(sc.rounds):
            work = script_dir / f"round{rnd}"
            bare_plan = make_project(work / "bare", sc.rows)
            ours_plan = make_project(work / "ours", sc.rows)
            requests = work / "requests.json"
            bare_requests(bare_plan, requests)
            wall, rss, bare_cpu = timed(
                [sys.executable, str(script), url, str(requests), str(work / "bare" / "output"), str(sc.workers)],
                env,
                work,
            )
            bare_walls.append(wall)
            bare_rss.append(rss)
            wall, rss, ours_cpu = timed(orchestrate_argv(ours_plan, sc.workers), env, work / "ours")
            ours_walls.append(wall)
            ours_rss.append(rss)
            done = ours_plan.read_text().count("| complete |")
            if done != sc.rows:
                raise RuntimeError(f"orchestrate run completed {done} of {sc.rows} rows")
            line = (
                f"  {sc.name} round {rnd + 1}: bare {bare_walls[-1]:.2f} s (CPU {bare_cpu:.2f} s), "
                f"orchestrate {ours_walls[-1]:.2f} s (CPU {ours_cpu:.2f} s)"
            )
            print(line, flush=True)
    bare, ours = statistics.median(bare_walls), statistics.median(ours_walls)
    return {
        "rows": sc.rows,
        "latency_ms": sc.latency_ms,
        "workers": sc.workers,
        "bare_s": bare,
        "ours_s": ours,
        "ratio": ours / bare,
        "bare_rss_mb": max(bare_rss),
        "ours_rss_mb": max(ours_rss),
    }


def run_rate_limited(scratch: Path, rows: int = 1000, rpm: int = 3000, workers: int = 50) -> dict[str, float]:
    """``orchestrate run`` against a simulator enforcing ``rpm``: how much of the limit it used.

    Measured between the first and the last response (the ledger's timestamps),
    as a rate limit is a ceiling on the steady state, not on start-up.
    """
    from datetime import datetime

    work = scratch / "rpm"
    plan = make_project(work / "ours", rows)
    with simulator(f"seed=7,latency_ms=200,rpm={rpm}") as url:
        env = {**os.environ, "ANTHROPIC_API_KEY": "sk-bench", "ANTHROPIC_BASE_URL": url, "NO_COLOR": "1"}
        env.pop("ORCHESTRATE_SIM", None)
        wall, _, _ = timed(orchestrate_argv(plan, workers), env, work / "ours")
    ledger = work / "ours" / "data" / "plan-phase1" / "ledger.jsonl"
    stamps = sorted(
        datetime.fromisoformat(line["ts"]).timestamp()
        for line in map(json.loads, ledger.read_text().splitlines())
        if line.get("response") is not None
    )
    span = stamps[-1] - stamps[0]
    achieved = (len(stamps) - 1) / span * 60 if span > 0 else 0.0
    return {"rows": rows, "rpm": rpm, "wall_s": wall, "achieved_rpm": achieved, "used": achieved / rpm}


def table(results: list[dict[str, float]]) -> str:
    lines = [
        "| rows | latency | workers | bare SDK script | `orchestrate run` | ratio | peak RSS (ours / bare) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['latency_ms']} ms | {r['workers']} | {r['bare_s']:.2f} s | {r['ours_s']:.2f} s "
            f"| **{r['ratio']:.2f}x** | {r['ours_rss_mb']:.0f} / {r['bare_rss_mb']:.0f} MB |"
        )
    return "\n".join(lines)


def scaling_line(results: list[dict[str, float]]) -> str | None:
    by = {(int(r["rows"]), int(r["latency_ms"])): r for r in results}
    small, large = by.get((1000, 0)), by.get((10000, 0))
    if not small or not large:
        return None
    return (
        f"10,000 rows at zero latency took {large['ours_s'] / small['ours_s']:.1f} times as long as 1,000 rows "
        f"(linear would be 10), peak RSS {large['ours_rss_mb']:.0f} MB."
    )


def write_docs(text: str) -> None:
    current = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    block = f"## {SECTION}\n\n{text}\n"
    pattern = re.compile(rf"^## {re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    updated = pattern.sub(block + "\n", current) if pattern.search(current) else current.rstrip() + "\n\n" + block
    DOCS.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="200 rows at 200 ms only; docs untouched")
    parser.add_argument("--scenario", action="append", choices=sorted(SCENARIOS), help="run only these")
    parser.add_argument("--rounds", type=int, help="rounds per scenario (default 2; 1 for 10,000 rows)")
    parser.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    parser.add_argument("--rpm", action="store_true", help="also run 1,000 rows against a limit of 3,000 rpm")
    args = parser.parse_args()
    if args.quick:
        chosen = [Scenario(200, 200, 50, rounds=args.rounds or 1)]
    else:
        names = args.scenario or list(SCENARIOS)
        chosen = [SCENARIOS[n] for n in names]
        if args.rounds:
            chosen = [Scenario(s.rows, s.latency_ms, s.workers, args.rounds) for s in chosen]
    os.sync()  # earlier deletions written back: ext4 skips recently deleted inodes longer while unwritten
    scratch = Path(tempfile.mkdtemp(prefix="bench-run-"))
    try:
        results = [run_scenario(sc, scratch) for sc in chosen]
        limited = run_rate_limited(scratch) if args.rpm else None
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    out = table(results)
    scaling = scaling_line(results)
    if limited is not None:
        out += (
            f"\n\nAgainst a simulator enforcing {limited['rpm']:,} requests per minute ({limited['rows']:,} rows, "
            f"200 ms, 50 workers): {limited['achieved_rpm']:,.0f} rpm between the first and the last response, "
            f"**{limited['used']:.0%} of the limit**."
        )
    print(out)
    if scaling:
        print(scaling)
    if not args.quick and not args.no_docs:
        machine = f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"
        command = "python bench/bench_run.py" + "".join(f" --scenario {s.name}" for s in chosen if args.scenario)
        write_docs(
            f"Measured with `{command}` ({machine}, {time.strftime('%Y-%m-%d')}): each side a fresh process from "
            "start to exit against the simulator in its own process; medians of alternating rounds.\n\n"
            + out
            + (f"\n\n{scaling}" if scaling else "")
        )


if __name__ == "__main__":
    main()
