"""Kill-test child: toggle random rows' statuses through a Recorder until killed.

Usage: recorder_kill_child.py PLAN LOG SEED

Before each ``set_status`` it appends ``S <seq> <row> <status>`` to LOG; after
each ``flush()`` returns it appends ``D <seq>`` (every request up to ``seq`` is
on disk). The log is written with O_APPEND and survives SIGKILL (page cache).
"""

from __future__ import annotations

import os
import random
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.plan.parser import read_plan
from orchestrator.recorder import Recorder, TrackingEntry


def main() -> None:
    plan_path, log_path, seed = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    rng = random.Random(seed)
    log = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    out_dir = plan_path.parent / "out"
    with Recorder(plan_path, wait=True, debounce=0.002) as rec:
        rows = list(read_plan(plan_path).rows())
        print("ready", flush=True)
        for seq in range(1, 100_000):
            row = rng.choice(rows)
            status = rng.choice(["complete", "pending"])
            os.write(log, f"S {seq} {row.id} {status}\n".encode())
            rec.set_status(row.phase, row.id, row.filename, status)
            if status == "complete":
                output = out_dir / row.filename
                entry = TrackingEntry(output, row.title, row.phase, row.id, row.model, "0" * 64, datetime.now(UTC))
                rec.register(entry)
            if seq % 25 == 0:
                rec.flush()
                os.write(log, f"D {seq}\n".encode())
            time.sleep(0.0005)


if __name__ == "__main__":
    main()
