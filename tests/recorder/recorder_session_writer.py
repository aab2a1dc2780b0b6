"""Two-writers child: record the given rows complete, a few per Recorder session.

Usage: recorder_session_writer.py PLAN FIRST LAST STEP

Each chunk of five rows is recorded in its own ``Recorder(wait=True)``, so two
of these processes hand the plan's lock back and forth many times.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from orchestrator.recorder import Recorder


def main() -> None:
    plan = Path(sys.argv[1])
    ids = list(range(int(sys.argv[2]), int(sys.argv[3]) + 1, int(sys.argv[4])))
    for start in range(0, len(ids), 5):
        with Recorder(plan, wait=True, debounce=0.001) as rec:
            for row in ids[start : start + 5]:
                rec.set_status(1, str(row), f"f{row}.md", "complete")
                time.sleep(0.002)
            report = rec.flush()
            if report.skipped:
                sys.exit(f"skipped: {report.skipped}")


if __name__ == "__main__":
    main()
