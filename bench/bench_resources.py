"""Peak memory of ``check``, ``status``, ``validate`` and ``run`` at 1,000 and 10,000 rows.

Run from the repository root (the package installed)::

    python bench/bench_resources.py            # 1,000 and 10,000 rows
    python bench/bench_resources.py --rows 1000 5000

Each command is a fresh ``python -m orchestrator`` process on a plan of N
pending rows (the campaign's plan, ``tests/campaign/campaignkit.py``);
``run`` goes against the simulator in its own process, with no latency and
50 workers, and writes every output, so ``validate`` then checks N files.
Peak RSS is the child's ``ru_maxrss`` from ``wait4``. A command is *flat*
in the number of rows when ten times the rows costs far less than ten
times the memory: the last column is the ratio of the peaks.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests" / "campaign"))

from benchkit import simulator  # noqa: E402
from campaignkit import make_project  # noqa: E402  (the campaign's plan generator)

COMMANDS = ("run", "check", "status", "validate")




def measure(argv: list[str], env: dict[str, str], cwd: Path) -> tuple[int, float, float]:
    """Exit code, wall seconds and peak RSS (MB) of one child process."""
    started = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    assert proc.stderr is not None
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0,):
        print(f"  {' '.join(argv[3:5])}: exit {code}: {err[-400:]}", file=sys.stderr)
    return code, wall, usage.ru_maxrss / 1024


def argv_for(command: str, plan: Path) -> list[str]:
    base = [sys.executable, "-m", "orchestrator", command, str(plan)]
    if command == "run":
        return [*base, "--phase", "1", "--provider", "sim", "--yes", "--workers", "50"]
    if command == "validate":
        return [*base, "--phase", "1"]
    return base


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    results: dict[tuple[str, int], tuple[int, float, float]] = {}
    with tempfile.TemporaryDirectory() as tmp, simulator("seed=7") as url:
        env = {**os.environ, "ORCHESTRATE_SIM_URL": url}
        for rows in args.rows:
            project = make_project(Path(tmp) / f"rows{rows}", rows=rows)
            for command in COMMANDS:
                results[(command, rows)] = measure(argv_for(command, project.plan), env, project.root)
                code, wall, rss = results[(command, rows)]
                print(f"{command:>8} {rows:>6} rows: {rss:7.1f} MB peak, {wall:6.1f} s, exit {code}", flush=True)
    first, last = args.rows[0], args.rows[-1]
    print()
    print(f"| Command | Peak RSS, {first:,} rows | Peak RSS, {last:,} rows | Ratio ({last // first}x rows) |")
    print("|---|---|---|---|")
    for command in COMMANDS:
        small, big = results[(command, first)][2], results[(command, last)][2]
        print(f"| `{command}` | {small:.0f} MB | {big:.0f} MB | {big / small:.2f}x |")


if __name__ == "__main__":
    main()
