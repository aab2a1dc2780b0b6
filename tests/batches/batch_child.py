"""A batch run in its own process, for the kill tests: ``python batch_child.py URL FOLDER N``.

The parent sets ``ORCHESTRATE_BATCH_CRASH_AT`` so that this process SIGKILLs
itself at that point; without it, the run ends normally and prints its report.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from batchkit import TITLES, make_jobs, run


def main() -> None:
    url, folder, count = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    report, _, _ = run(make_jobs(TITLES[:count]), url, folder)
    print(json.dumps({"states": report.states, "submitted": report.submitted}))


if __name__ == "__main__":
    main()
