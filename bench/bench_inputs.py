"""Hostile inputs through ``orchestrate check``: wall time and peak memory of each, in its own process.

Each input is one of issue 13's findings (or a shape that was quadratic in the
plan parser); the figures show each is refused, or read, in bounded time and
memory. Run from the repository root:

    python bench/bench_inputs.py

It prints one line per input: exit code, seconds, peak RSS (MiB) and the
first line of the message.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PLAN = "plans/glossary.md"
REF = "format_refs/idempotency.md"


def _bomb() -> str:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(1, 9)]
    return "---\nterm: x\ncategory: Reliability\ntags: [a, b]\n" + "\n".join(lines) + "\n---\n\n## Definition\n"


def _set_reference(root: Path, target: str) -> None:
    plan = root / PLAN
    plan.write_text(plan.read_text().replace("../format_refs/idempotency.md", target))


def _cases(root: Path) -> dict[str, tuple[str, Callable[[], None]]]:
    head = (root / PLAN).read_text()
    big = root / "big-reference.md"
    return {
        "reference: alias bomb (9 levels of 9)": (PLAN, lambda: (root / REF).write_text(_bomb())),
        "reference: 50 MB file": (PLAN, lambda: (big.write_text("x" * 50_000_000), _set_reference(root, str(big)))),
        "reference: FIFO": (PLAN, lambda: ((root / REF).unlink(), os.mkfifo(root / REF))),
        "reference: symlink loop": (PLAN, lambda: ((root / REF).unlink(), (root / REF).symlink_to("idempotency.md"))),
        "plan: /dev/zero": ("/dev/zero", lambda: None),
        "plan: FIFO": ("plans/fifo.md", lambda: os.mkfifo(root / "plans/fifo.md")),
        "plan: 2,097,152 list items (8 MiB)": ("plans/bullets.md",
                                               lambda: (root / "plans/bullets.md").write_text("- x\n" * 2**21)),
        "plan: 5,000 repeated sections": ("plans/dups.md", lambda: (root / "plans/dups.md").write_text(
            head + "\n## Content Rules\n- more\n" * 5_000)),
        "plan: 3,000 phases of one row": ("plans/phases.md", lambda: (root / "plans/phases.md").write_text(
            head + "".join(
            f"\n## Phase {n}\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
            f"| {n} | T{n} | t{n}.md | haiku | pending |\n" for n in range(10, 3_000)))),
        "plan: 49,000 rows": ("plans/rows.md", lambda: (root / "plans/rows.md").write_text(
            head + "\n## Phase 3\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
            + "".join(f"| {n} | T{n} | t{n}.md | haiku | pending |\n" for n in range(10, 49_010)))),
    }


def _measure(root: Path, plan: str) -> tuple[int, float, float, str]:
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "orchestrator", "check", plan], cwd=root, capture_output=True,
                          text=True, timeout=900, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    first = next((line for line in (done.stderr + done.stdout).splitlines() if line.strip()), "")
    return done.returncode, seconds, peak, first


def main() -> None:
    print(f"{'input':40s} {'exit':>4s} {'seconds':>8s} {'peak MiB':>9s}  message")
    for name in _cases(Path(".")):
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "demo"
            subprocess.run([sys.executable, "-m", "orchestrator", "init", str(root)], check=True, capture_output=True)
            plan, setup = _cases(root)[name]
            setup()
            # each input in a fresh child of a fresh process, so RUSAGE_CHILDREN's peak is this input's
            code = subprocess.run([sys.executable, __file__, "--one", str(root), plan], capture_output=True,
                                  text=True, timeout=900)
            print(f"{name:40s} {code.stdout.strip()}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--one":
        code, seconds, peak, first = _measure(Path(sys.argv[2]), sys.argv[3])
        print(f"{code:4d} {seconds:8.2f} {peak:9.0f}  {first[:110]}")
    else:
        main()
