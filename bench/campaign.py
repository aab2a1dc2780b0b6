"""The full hardening campaign (issue 13): crashes, faults and concurrent edits, with figures.

Run from the repository root (the package installed)::

    python bench/campaign.py                  # >= 100 kills, every fault at two rates, 3 edited runs
    python bench/campaign.py --kills 20 --edited 1 --rates 0.3
    python bench/campaign.py --docs           # also rewrite the figures in docs/reliability.md

The fast subset of the same campaign runs in the test suite
(``tests/campaign/``); this script is the full sweep. Every run is a real
``orchestrate run`` child process against a simulator in this process, and
after every run the invariants of ``tests/campaign/campaignkit.py`` are
checked: rows complete with a valid, registered output or pending with a
reason; the ledger equal to the simulator's bill (less what was in flight
at a kill, or given up on by the client); a response checkpoint only with
its ledger line; no temporary or partial file; no response paid for twice;
attempts within their limits. Any violation is printed and the exit code
is 1.
"""

from __future__ import annotations

import argparse
import platform
import random
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "campaign"))

from campaignkit import FAULT_KINDS, Tally, crash_round, edited_run, fault_run  # noqa: E402

DOCS = ROOT / "docs" / "reliability.md"
BEGIN, END = "<!-- campaign figures: begin -->", "<!-- campaign figures: end -->"


def crash_sweep(root: Path, kills: int, per_round: int, seed: int) -> Tally:
    tally = Tally()
    rng = random.Random(seed)
    while tally.kills < kills:
        seen = len(tally.problems)
        crash_round(root / f"round{tally.rounds}", rng, per_round, tally=tally)
        print(f"  crash round {tally.rounds}: {tally.kills} kills, {tally.runs} runs, "
              f"{len(tally.problems)} problem(s)", flush=True)
        for problem in tally.problems[seen:]:
            print(f"    VIOLATION: {problem}", flush=True)
    return tally


def fault_sweep(root: Path, rates: list[float]) -> tuple[list[str], Counter[str], int, int]:
    lines, injected, problems, runs = [], Counter[str](), 0, 0
    for kind in FAULT_KINDS:
        for rate in rates if kind != "never-valid" else [0.15]:
            done = fault_run(root / f"{kind}-{rate}", kind, rate)
            runs += 1
            injected.update(done.injected)
            injected["timeout (client)"] += done.given_up
            problems += len(done.found.problems)
            lines.append(
                f"| {kind} | {rate:g} | {done.code} | {done.found.complete} | {done.found.pending} | "
                f"{done.found.billed} | {len(done.found.problems)} |"
            )
            print(f"  fault {kind} at {rate:g}: exit {done.code}, {done.found.complete} complete, "
                  f"{done.found.pending} pending, problems: {done.found.problems[:3]}", flush=True)
    return lines, injected, problems, runs


def edit_sweep(root: Path, count: int) -> tuple[list[str], int, int]:
    lines, problems, saves = [], 0, 0
    for number in range(count):
        done = edited_run(root / f"edited{number}", mode="both", interval_ms=1)
        bad = [*done.final.problems]
        if done.result.code == 0 and done.statuses_after_run != {"complete"}:
            bad.append("exit 0 without every status")
        if done.result.code not in (0, 1):
            bad.append(f"exit {done.result.code}")
        bad += [f"reader saw older plan {o}" for o in done.older] + [f"lost save {n}" for n in done.lost]
        if done.rerun.code != 0 or done.billed_by_rerun:
            bad.append(f"rerun exit {done.rerun.code}, {done.billed_by_rerun} new call(s)")
        problems += len(bad)
        saves += done.saves
        lines.append(
            f"| {number + 1} | {done.saves:,} | {done.reads:,} | {done.result.code} | {len(done.older)} | "
            f"{len(done.lost)} | {done.rerun.code}, {done.billed_by_rerun} call(s) | {len(bad)} |"
        )
        print(f"  edited run {number + 1}: {done.saves} saves, exit {done.result.code}, problems: {bad[:3]}",
              flush=True)
    return lines, problems, saves


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=100, help="SIGKILLs to reach (default 100)")
    parser.add_argument("--per-round", type=int, default=6, help="kill attempts per 36-row round")
    parser.add_argument("--rates", type=float, nargs="+", default=[0.1, 0.3])
    parser.add_argument("--edited", type=int, default=3, help="runs under a 1 ms editor")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--docs", action="store_true", help=f"rewrite the figures in {DOCS.relative_to(ROOT)}")
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        print("crash sweep", flush=True)
        tally = crash_sweep(root / "crash", args.kills, args.per_round, args.seed)
        print("fault sweep", flush=True)
        fault_lines, injected, fault_problems, fault_runs = fault_sweep(root / "faults", args.rates)
        print("concurrent edits", flush=True)
        edit_lines, edit_problems, saves = edit_sweep(root / "edits", args.edited)
    minutes = (time.monotonic() - started) / 60
    crash_faults = ", ".join(f"{k} {v}" for k, v in sorted(tally.faults.items()))
    at = ", ".join(f"{k} {v}" for k, v in sorted(tally.kills_at.items()) if v)
    text = "\n".join([
        f"Last full sweep: `python bench/campaign.py` ({time.strftime('%Y-%m-%d')}, Python "
        f"{platform.python_version()}, {minutes:.0f} min).",
        "",
        f"- **Crashes**: {tally.kills} SIGKILLs survived over {tally.rounds} rounds of 36-row plans "
        f"({tally.runs} runs): {tally.kills_random} at random instants, {tally.kills - tally.kills_random} "
        f"at instrumented ones ({at}); faults injected meanwhile: {crash_faults}; "
        f"{tally.billed} responses billed; after each round's free rerun {tally.rows_complete} rows complete, "
        f"{tally.rows_pending} pending; invariant violations: {len(tally.problems)}.",
        f"- **Faults**: {fault_runs} runs, faults injected: "
        + ", ".join(f"{k} {v}" for k, v in sorted(injected.items()) if v)
        + f"; invariant violations: {fault_problems}.",
        "",
        "| Fault | Rate | Exit | Complete | Pending (with a reason) | Billed responses | Violations |",
        "|---|---|---|---|---|---|---|",
        *fault_lines,
        "",
        f"- **Concurrent edits**: {args.edited} runs with an editor saving every 1 ms (by rename and in place, "
        f"alternately): {saves:,} saves; violations: {edit_problems}.",
        "",
        "| Run | Editor saves | Reader reads | Exit | Older plan seen | Saves lost | Free rerun | Violations |",
        "|---|---|---|---|---|---|---|---|",
        *edit_lines,
    ])
    print()
    print(text)
    problems = [*tally.problems]
    for problem in problems[:20]:
        print(f"VIOLATION: {problem}", file=sys.stderr)
    if args.docs:
        docs = DOCS.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.DOTALL)
        if not pattern.search(docs):
            raise SystemExit(f"{DOCS}: no {BEGIN} ... {END} block to rewrite")
        DOCS.write_text(pattern.sub(lambda _: f"{BEGIN}\n{text}\n{END}", docs), encoding="utf-8")
        print(f"\nwrote the figures into {DOCS.relative_to(ROOT)}")
    return 1 if problems or fault_problems or edit_problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
