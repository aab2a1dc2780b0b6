"""Editor child: a user saving the plan repeatedly while rows are recorded.

Usage: recorder_plan_editor.py PLAN COUNT

Each save inserts ``- edit N`` after the last line of the ``## Editor Log``
list (shifting every table line below it), the way an editor that notices
changes on disk would: read, change, and replace only if the file still holds
what was read; otherwise merge into what is there now.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from orchestrator.recorder.atomic import replace_if_unchanged


def add_edit(text: str, number: int) -> str:
    lines = text.split("\n")
    last = max(i for i, line in enumerate(lines) if line.startswith("- edit") or line == "## Editor Log")
    lines.insert(last + 1, f"- edit {number}")
    return "\n".join(lines)


def save(plan: Path, number: int) -> None:
    while True:
        base = plan.read_bytes()
        if replace_if_unchanged(plan, add_edit(base.decode(), number).encode(), base):
            return


def main() -> None:
    plan, count = Path(sys.argv[1]), int(sys.argv[2])
    for number in range(1, count + 1):
        save(plan, number)
        time.sleep(0.004)


if __name__ == "__main__":
    main()
