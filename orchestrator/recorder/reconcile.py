"""What a killed run left behind, put right when the next command opens the plan's recorder.

Two things a crash can leave that no later write would otherwise touch:

* **temporary files** (``.NAME.PID-TOKEN.tmp``, see
  :mod:`orchestrator.recorder.atomic`) in the Output Directory, the batch
  folder and the report folder: each is removed when its writer no longer
  runs; anyone else's files, and a live writer's, are never touched;
* **rows complete without a tracking entry**: the recorder writes the
  tracking file before the plan, so a crash between the two leaves an entry
  for a row still pending (the rerun records it), but a tracking file that
  could not be written, or was edited, still leaves rows complete and
  unregistered. Every such row whose output is on disk is registered again
  (path, title, phase, row, model as the plan names it, the output's sha256;
  tokens and cost are left out, as for ``validate --record``).

:func:`reconcile` runs under the plan's lock, through the recorder's queue,
so the registrations are written like any other (tracking file first).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from orchestrator.errors import InputFileError, RecordError
from orchestrator.plan.model import COMPLETE, Plan
from orchestrator.recorder.atomic import remove_stale_temps_in
from orchestrator.recorder.tracking import TrackingEntry
from orchestrator.recorder.writes import read_optional
from orchestrator.safeio import OUTPUT, TRACKING, check_readable

log = logging.getLogger(__name__)

_TOKEN = re.compile(r"[\w.-]+")


class Registrar(Protocol):
    """The part of :class:`~orchestrator.recorder.Recorder` reconciling needs."""

    def register(self, entry: TrackingEntry) -> None: ...


@dataclass
class Reconciled:
    """What :func:`reconcile` did."""

    temps_removed: list[Path] = field(default_factory=list)
    registered: list[Path] = field(default_factory=list)  # outputs queued for registration

    def lines(self) -> list[str]:
        """One line per kind of repair, for the command's output (empty when there was none)."""
        out = []
        if self.temps_removed:
            out.append(f"removed {len(self.temps_removed)} temporary file(s) a killed run left")
        if self.registered:
            out.append(f"registered {len(self.registered)} complete row(s) missing from the tracking file")
        return out


def reconcile(recorder: Registrar, plan: Plan, *, folders: Iterable[Path] = ()) -> Reconciled:
    """Remove dead writers' temporary files and queue missing registrations (see the module docstring).

    ``folders`` (the batch folder, the report folder: the tool's own) are
    swept with everything under them; the folders that hold the plan's
    outputs and its tracking file only at their own level, since the Output
    Directory may be the plan's folder, or a whole repository.
    """
    done = Reconciled()
    deep = {p.resolve() for p in folders}
    shallow = {plan.tracking_file_path().parent.resolve()}
    if plan.output_dir_path() is not None:
        shallow |= {plan.output_path(row).parent.resolve() for row in plan.rows() if row.filename}
    for folder in sorted(_outermost(deep)):
        done.temps_removed += remove_stale_temps_in(folder)
    for folder in sorted(f for f in shallow if not any(f.is_relative_to(d) for d in deep)):
        done.temps_removed += remove_stale_temps_in(folder, recursive=False)
    if plan.output_dir_path() is not None:
        for entry in missing_entries(plan):
            recorder.register(entry)
            done.registered.append(entry.path)
    for line in done.lines():
        log.info("%s", line)
    return done


def missing_entries(plan: Plan) -> list[TrackingEntry]:
    """Entries for the plan's complete rows whose output exists but is not in the tracking file."""
    tracking = plan.tracking_file_path()
    try:
        data = read_optional(tracking, TRACKING)
    except RecordError:  # a broken tracking file is reported when it is written, not here
        return []
    text = (data or b"").decode("utf-8", errors="replace")
    tokens = set(_TOKEN.findall(text))
    entries = []
    for row in plan.rows():
        if row.status != COMPLETE or not row.filename:
            continue
        output = plan.output_path(row)
        if _registered(text, tokens, output.name) or not _usable(output):
            continue
        entries.append(
            TrackingEntry.for_output(
                output,
                title=row.title,
                phase=row.phase,
                row=row.id,
                model=row.model,
                validated_at=datetime.fromtimestamp(output.stat().st_mtime, UTC),
            )
        )
    return entries


def _registered(text: str, tokens: set[str], name: str) -> bool:
    """As :func:`orchestrator.validators.tracking.is_registered`: the name as a whole path token."""
    if _TOKEN.fullmatch(name):
        return name in tokens
    return re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w.-])", text) is not None


def _usable(output: Path) -> bool:
    if not output.is_file():
        return False
    try:
        check_readable(output, OUTPUT)
    except (InputFileError, OSError):
        return False
    return True


def _outermost(folders: set[Path]) -> list[Path]:
    """``folders`` without those inside another (each is swept recursively once)."""
    return [f for f in folders if not any(f != other and f.is_relative_to(other) for other in folders)]
