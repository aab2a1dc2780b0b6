"""Recorder bench: coalesced writes against one write per row, side by side in one run.

A phase of N rows (10,000 by default) finishes; every row's Status becomes
``complete``. The coalesced recorder (the default ``debounce``) writes the plan
a few times; the baseline flushes after every row, i.e. one full, fsynced,
atomic rewrite of the plan per row. Every per-row write re-reads and re-parses
the whole plan, so the baseline is measured on a sample of rows (``--sample``)
and its totals for N rows are extrapolated from that sample (each of its
writes rewrites the whole file, so bytes scale exactly).

    python bench/bench_recorder.py [--rows 10000] [--sample 10] [--rate 0]

``--rate R`` spreads the coalesced run's rows over time (R rows per second)
instead of finishing them all at once.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from orchestrator.recorder import Recorder

HEAD = """# Bench Plan

## Format Reference
output/ref.md

## Output Directory
output/

## Content Rules
- Every output needs front matter

## Validation Checklist
1. Front matter present

## Phase 1
| # | Title | Filename | Model | Status |
|---|-------|----------|-------|--------|
"""


@dataclass(frozen=True)
class Result:
    rows: int
    seconds: float
    writes: int
    bytes_written: int

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else float("inf")


def make_plan(folder: Path, rows: int) -> Path:
    lines = [f"| {i} | Title {i} | file-{i}.md | haiku | pending |\n" for i in range(1, rows + 1)]
    plan = folder / "plan.md"
    plan.write_text(HEAD + "".join(lines), encoding="utf-8")
    return plan


def coalesced(plan: Path, rows: int, rate: float) -> Result:
    started = time.perf_counter()
    with Recorder(plan) as rec:
        for i in range(1, rows + 1):
            rec.set_status(1, str(i), f"file-{i}.md", "complete")
            if rate:
                time.sleep(max(0.0, started + i / rate - time.perf_counter()))
    seconds = time.perf_counter() - started
    report = rec.report
    assert len(report.recorded) == rows, report.skipped[:3]
    return Result(rows, seconds, report.writes, report.bytes_written)


def per_row(plan: Path, sample: int) -> Result:
    started = time.perf_counter()
    with Recorder(plan, debounce=3600) as rec:
        for i in range(1, sample + 1):
            rec.set_status(1, str(i), f"file-{i}.md", "complete")
            rec.flush()
    seconds = time.perf_counter() - started
    report = rec.report
    assert report.writes == sample
    return Result(sample, seconds, report.writes, report.bytes_written)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--sample", type=int, default=10, help="rows measured for the per-row baseline")
    parser.add_argument("--rate", type=float, default=0.0, help="rows per second (0: all at once)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fast = coalesced(make_plan(Path(tmp), args.rows), args.rows, args.rate)
    with tempfile.TemporaryDirectory() as tmp:
        slow = per_row(make_plan(Path(tmp), args.rows), args.sample)
    scale = args.rows / slow.rows
    slow_bytes = round(slow.bytes_written * scale)
    slow_seconds = slow.seconds * scale
    print(f"plan: {args.rows:,} rows, all set to complete")
    print(f"{'':34}{'rows/s':>12}{'writes':>10}{'bytes written':>16}{'time (s)':>12}")
    print(
        f"{'coalesced (debounce 0.2 s)':34}{fast.rows_per_second:>12,.0f}{fast.writes:>10,}"
        f"{fast.bytes_written:>16,}{fast.seconds:>12.2f}"
    )
    print(
        f"{f'one write per row (from {slow.rows} rows)':34}{slow.rows_per_second:>12,.2f}{args.rows:>10,}"
        f"{slow_bytes:>16,}{slow_seconds:>12.0f}"
    )
    print(
        f"ratio: {fast.rows_per_second / slow.rows_per_second:,.0f}x rows/s, "
        f"{slow_bytes / max(fast.bytes_written, 1):,.0f}x fewer bytes, "
        f"{args.rows / max(fast.writes, 1):,.0f}x fewer writes"
    )


if __name__ == "__main__":
    main()
