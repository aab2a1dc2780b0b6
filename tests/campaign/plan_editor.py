"""A person saving the plan in a loop while a run records: the campaign's editor child.

Usage: plan_editor.py PLAN SECONDS INTERVAL_MS MODE LOG

Each save reads the plan as it is now (an editor that reloads on change),
adds ``- edit N`` at the end of the ``## Editor Log`` list, and writes it
back without any compare-and-swap, as editors do: MODE ``rename`` writes a
temporary file and renames it over the plan (most editors), ``inplace``
truncates the plan and writes it (``vim`` with ``backupcopy=yes``, shell
redirection), ``both`` alternates. A reader sees an in-place save half
done; a save can undo a status written between the read and the write.
After each save, ``N`` is appended to LOG (flushed), so a test knows which
saves had happened by any moment. SIGTERM stops it between two saves.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path


def add_edit(text: str, number: int) -> str | None:
    lines = text.split("\n")
    marks = [i for i, line in enumerate(lines) if line.startswith("- edit") or line == "## Editor Log"]
    if not marks or "## Phase" not in text:  # caught half-written by another in-place save: skip this one
        return None
    lines.insert(marks[-1] + 1, f"- edit {number}")
    return "\n".join(lines)


def save(plan: Path, data: bytes, inplace: bool) -> None:
    if inplace:
        fd = os.open(plan, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
        return
    temp = plan.with_name(f"{plan.name}~editor")
    temp.write_bytes(data)
    os.replace(temp, plan)


def main() -> None:
    plan, seconds, interval, mode, log_path = (
        Path(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3]) / 1000, sys.argv[4], Path(sys.argv[5]),
    )
    deadline = time.monotonic() + seconds
    number = 0
    stopping: list[int] = []
    # SIGTERM ends the loop between two saves: a save cut off in place would leave the plan empty
    signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
    with log_path.open("a", encoding="utf-8") as log:
        while time.monotonic() < deadline and not stopping:
            new = add_edit(plan.read_text(encoding="utf-8"), number + 1)
            if new is not None:
                number += 1
                save(plan, new.encode("utf-8"), inplace=mode == "inplace" or (mode == "both" and number % 2 == 0))
                log.write(f"{number}\n")
                log.flush()
            time.sleep(interval)


if __name__ == "__main__":
    main()
