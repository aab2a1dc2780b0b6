"""Benchmark the dispatcher against the simulator running in its own process.

Run manually from the repository root::

    python bench/bench_dispatch.py            # about a minute; rewrites the docs section
    python bench/bench_dispatch.py --quick    # smaller numbers, docs untouched

It measures, each against a fresh ``python -m orchestrator.sim`` process:

(a) overhead: wall time for N rows at 200 ms simulated latency with 50 workers,
    next to the ideal (rows / workers x latency) and a minimal script (asyncio,
    the same ``AsyncAnthropic`` client, ``Semaphore(50)``), run alternately in
    one session so both see the same machine;
(b) rate limiting: the request rate achieved under a simulator enforcing
    ``rpm``, once with ``--rpm`` given and once learnt from the headers alone;
(c) caching: billed input tokens for rows sharing a long format reference,
    with and without ``cache_control`` on the shared prefix.

The results are printed as a table and written to the "Dispatcher" section of
``docs/benchmarks.md`` (other sections of that file are left alone).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
from benchkit import simulator

from orchestrator.dispatch import (
    DispatchEvent,
    DispatchReport,
    DispatchSettings,
    Job,
    JobOutcome,
    Ledger,
    Verdict,
    dispatch,
)
from orchestrator.models import ModelInfo, Usage, load_model_table
from orchestrator.providers.anthropic import AnthropicProvider, message_params, system_blocks
from orchestrator.providers.base import CallRequest, CallResult, Turn

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "benchmarks.md"
SECTION = "Dispatcher"

SHORT_REFERENCE = """---
term: Idempotency
category: Reliability
tags: [reliability, api-design, retries]
---

## Definition

An operation is idempotent if doing it twice has the same effect as doing it once.

## Related Terms

Exactly-once delivery.
"""
PARAGRAPH = (
    "An operation is idempotent if performing it more than once produces the same effect as "
    "performing it exactly once, so a client may retry it after a timeout without fear. "
)
LONG_REFERENCE = SHORT_REFERENCE.replace(
    "An operation is idempotent if doing it twice has the same effect as doing it once.",
    PARAGRAPH * 40,
)
RULES = "Follow these content rules: category must be one of: Reliability, Consistency."


# --- the simulator in its own process ---------------------------------------------




# --- requests and hooks ---------------------------------------------------------------


def shared_prefix(reference: str) -> str:
    return (
        "Read ref/idempotency.md for structure, style, and front matter format.\n\n"
        f'<format_reference path="ref/idempotency.md">\n{reference}</format_reference>\n\n{RULES}'
    )


def make_jobs(n: int, model: ModelInfo, reference: str, tag: str) -> list[Job]:
    shared = shared_prefix(reference)
    jobs = []
    for i in range(n):
        turn = Turn("user", f"Produce output covering Topic {tag} {i}.\nWrite to out/{i}.md.")
        request = CallRequest(model.id, "You write one file.", shared, (turn,), 2000)
        jobs.append(Job(f"{i:04d}", f"r{i}", model, request))
    return jobs


@dataclass
class AcceptAll:
    """Hooks that accept every response and remember when calls ended."""

    ends: list[float] = field(default_factory=list)
    retries: int = 0

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, n: int) -> None:
        self.ends.append(time.monotonic())

    async def check(self, job: Job, result: CallResult) -> Verdict:
        return Verdict(True, result.text, [])

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        pass

    def on_event(self, event: DispatchEvent) -> None:
        self.retries += event.kind == "retry"


async def run_dispatcher(
    url: str, jobs: list[Job], settings: DispatchSettings, *, cache: bool = True
) -> tuple[float, DispatchReport, AcceptAll]:
    provider = AnthropicProvider(api_key="sk-bench", base_url=url, cache_prefix=cache)
    hooks = AcceptAll()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        report = await dispatch(jobs, provider, hooks, settings, ledger=Ledger(Path(tmp) / "l.jsonl"))
        wall = time.perf_counter() - started
    await provider.aclose()
    failed = [o.key for o in report.outcomes if not o.ok]
    if failed or len(report.outcomes) != len(jobs):
        raise RuntimeError(f"dispatcher run incomplete: {len(failed)} failed")
    return wall, report, hooks


async def run_minimal(url: str, jobs: list[Job], workers: int) -> float:
    """The baseline: the same SDK and requests, a semaphore, nothing else."""
    client = anthropic.AsyncAnthropic(api_key="sk-bench", base_url=url, max_retries=0)
    gate = asyncio.Semaphore(workers)

    async def one(job: Job) -> None:
        async with gate:
            await client.messages.create(
                model=job.request.model,
                max_tokens=job.request.max_tokens,
                system=system_blocks(job.request),
                messages=message_params(job.request),
            )

    started = time.perf_counter()
    await asyncio.gather(*(one(job) for job in jobs))
    wall = time.perf_counter() - started
    await client.close()
    return wall


# --- the three measurements ---------------------------------------------------------


async def bench_overhead(model: ModelInfo, rows: int, workers: int, latency_ms: int) -> dict[str, Any]:
    ideal = rows / workers * latency_ms / 1000
    minimal: list[float] = []
    ours: list[float] = []
    with simulator(f"seed=7,latency_ms={latency_ms}") as url:
        await run_minimal(url, make_jobs(workers, model, SHORT_REFERENCE, "warm"), workers)
        for rnd in range(2):
            minimal.append(await run_minimal(url, make_jobs(rows, model, SHORT_REFERENCE, f"m{rnd}"), workers))
            settings = DispatchSettings(workers=workers)
            wall, _, _ = await run_dispatcher(url, make_jobs(rows, model, SHORT_REFERENCE, f"d{rnd}"), settings)
            ours.append(wall)
    return {
        "rows": rows,
        "workers": workers,
        "latency_ms": latency_ms,
        "ideal": ideal,
        "minimal": min(minimal),
        "ours": min(ours),
        "minimal_all": minimal,
        "ours_all": ours,
    }


async def bench_rate(model: ModelInfo, rpm: int, seconds: float, workers: int, *, configured: bool) -> dict[str, Any]:
    rows = int(rpm / 60 * seconds)
    settings = DispatchSettings(workers=workers, rpm=rpm if configured else None)
    with simulator(f"seed=8,latency_ms=100,rpm={rpm}") as url:
        jobs = make_jobs(rows, model, SHORT_REFERENCE, "rate")
        wall, report, hooks = await run_dispatcher(url, jobs, settings)
    calls = sum(o.calls for o in report.outcomes)
    ends = sorted(hooks.ends)
    # after the first two seconds the initial burst (a full bucket) no longer counts
    late = [t for t in ends if t >= ends[0] + 2.0]
    steady = (len(late) - 1) / (late[-1] - late[0]) * 60 if len(late) > 1 else 0.0
    return {
        "rpm": rpm,
        "rows": rows,
        "wall": wall,
        "achieved_rpm": rows / wall * 60,
        "steady_rpm": steady,
        "rate_limited": calls - rows,
        "configured": configured,
    }


async def bench_cache(model: ModelInfo, rows: int, workers: int) -> dict[str, Any]:
    result: dict[str, Any] = {"rows": rows, "model": model.id}
    with simulator("seed=9,latency_ms=50") as url:
        for cache in (False, True):
            jobs = make_jobs(rows, model, LONG_REFERENCE, "cache" if cache else "plain")
            _, report, _ = await run_dispatcher(url, jobs, DispatchSettings(workers=workers), cache=cache)
            usage = report.usage
            input_only = Usage(usage.input_tokens, 0, usage.cache_creation_input_tokens, usage.cache_read_input_tokens)
            result["cached" if cache else "uncached"] = {
                "usage": usage,
                "input_cost": model.cost(input_only),
            }
    return result


# --- output ----------------------------------------------------------------------------


def fmt_usage(u: Usage) -> str:
    return f"{u.input_tokens:,} fresh + {u.cache_creation_input_tokens:,} written + {u.cache_read_input_tokens:,} read"


def render(over: dict[str, Any], rates: list[dict[str, Any]], cache: dict[str, Any]) -> str:
    lines = [
        f"## {SECTION}",
        "",
        f"Measured by `python bench/bench_dispatch.py` on {time.strftime('%Y-%m-%d')}, "
        f"Python {platform.python_version()}, anthropic {anthropic.__version__}, "
        f"{os.cpu_count()} CPUs ({platform.system()} {platform.machine()}). The simulator runs in "
        "its own process (`python -m orchestrator.sim`); the dispatcher writes its ledger "
        "(one fsync'd line per attempt) as in a real run.",
        "",
        f"### Overhead: {over['rows']:,} rows, {over['workers']} workers, {over['latency_ms']} ms latency",
        "",
        "| Runner | Wall time | vs ideal | vs minimal script |",
        "|---|---:|---:|---:|",
        f"| Ideal (rows / workers x latency) | {over['ideal']:.2f} s | 1.00x | |",
        f"| Minimal script (asyncio + AsyncAnthropic + Semaphore) | {over['minimal']:.2f} s | "
        f"{over['minimal'] / over['ideal']:.2f}x | 1.00x |",
        f"| `dispatch()` | {over['ours']:.2f} s | {over['ours'] / over['ideal']:.2f}x | "
        f"{over['ours'] / over['minimal']:.2f}x |",
        "",
        "Best of two alternating runs each (all runs: minimal "
        + ", ".join(f"{w:.2f}" for w in over["minimal_all"])
        + " s; dispatch "
        + ", ".join(f"{w:.2f}" for w in over["ours_all"])
        + " s).",
        "",
        "The gap between the minimal script and the ideal is the simulator and the SDK sharing "
        "the machine's CPUs; the dispatcher's own cost (queue, limiter, events, and above all "
        "the fsync'd ledger line per attempt) is the gap between it and the minimal script.",
        "",
        "### Rate limit: simulator enforcing rpm, 50 workers, 100 ms latency",
        "",
        "| Client limit | Rows | Wall time | Achieved rate | Steady rate | 429s met |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rates:
        label = f"`rpm={r['rpm']}` given" if r["configured"] else "learnt from headers"
        lines.append(
            f"| {label} | {r['rows']} | {r['wall']:.1f} s | {r['achieved_rpm']:.0f} rpm "
            f"({r['achieved_rpm'] / r['rpm']:.0%}) | {r['steady_rpm']:.0f} rpm | {r['rate_limited']} |"
        )
    lines += [
        "",
        "The simulator's bucket, like the API's, starts full (one second's worth), so a run "
        "slightly exceeds the limit on average; the steady rate leaves out the first two "
        "seconds. Without a configured limit, the first wave of workers starts before "
        "any response has reported the limit; those calls meet 429s, every worker waits out the "
        "shared cool-down, and the limit learnt from the headers holds from then on.",
    ]
    un, ca = cache["uncached"], cache["cached"]
    lines += [
        "",
        f"### Prompt caching: {cache['rows']} rows sharing a long format reference ({cache['model']} prices)",
        "",
        "| Shared prefix | Input tokens | Input cost |",
        "|---|---|---:|",
        f"| Not marked | {fmt_usage(un['usage'])} | ${un['input_cost']:.4f} |",
        f"| `cache_control` (default) | {fmt_usage(ca['usage'])} | ${ca['input_cost']:.4f} |",
        "",
        f"Caching cut the input bill by {1 - ca['input_cost'] / un['input_cost']:.0%}.",
        "",
    ]
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace the Dispatcher section of docs/benchmarks.md (or append it); keep the rest."""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    old = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n\n"
    pattern = re.compile(rf"^## {SECTION}\n.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
    if pattern.search(old):
        new = pattern.sub(lambda _: text.rstrip() + "\n\n", old, count=1)
    else:
        new = old.rstrip() + "\n\n" + text
    DOCS.write_text(new.rstrip() + "\n", encoding="utf-8")


async def main(args: argparse.Namespace) -> None:
    model = load_model_table().resolve("haiku")
    over = await bench_overhead(model, args.rows, args.workers, args.latency_ms)
    print(f"overhead: ideal {over['ideal']:.2f}s minimal {over['minimal']:.2f}s ours {over['ours']:.2f}s")
    rates = [
        await bench_rate(model, args.rpm, args.rate_seconds, args.workers, configured=configured)
        for configured in (True, False)
    ]
    for r in rates:
        print(f"rate: {r}")
    cache = await bench_cache(model, args.cache_rows, 10)
    print(f"cache: {cache}")
    text = render(over, rates, cache)
    print()
    print(text)
    if not args.quick:
        write_section(text)
        print(f"wrote the {SECTION} section of {DOCS.relative_to(ROOT)}")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=200)
    parser.add_argument("--rpm", type=int, default=600)
    parser.add_argument("--rate-seconds", type=float, default=20.0)
    parser.add_argument("--cache-rows", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="small run; do not write the docs")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.rate_seconds, args.cache_rows = 200, 5.0, 10
    return args


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
