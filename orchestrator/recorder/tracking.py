"""Register completed outputs in the plan's tracking file (pure text in, text out).

The tracking file is the *AI Batch Generation Pipeline Template*'s "register each output in <tracking-file>"
(:meth:`Plan.tracking_file_path`). Its format follows its name: ``.md``,
``.markdown`` and ``.txt`` are edited as markdown (see
:mod:`orchestrator.recorder.tracking_md`), anything else as YAML (see
:mod:`orchestrator.recorder.tracking_yaml`). An output is identified by its
path: registering it again updates its entry in place, never adds a second.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.recorder import tracking_md, tracking_yaml
from orchestrator.safeio import OUTPUT, read_bytes

MARKDOWN_SUFFIXES = (".md", ".markdown", ".txt")


@dataclass(frozen=True)
class TrackingEntry:
    """One validated output, as registered in the tracking file.

    ``path`` may be absolute or relative to the working folder; it is written
    relative to the tracking file's folder. ``tokens`` and ``cost_usd`` are
    written only when known (a re-registration without them drops old ones:
    they described an earlier version of the file).
    """

    path: Path
    title: str
    phase: int
    row: str
    model: str
    sha256: str
    validated_at: datetime
    tokens: int | None = None
    cost_usd: float | None = None
    #: where the output's response came from; written only when known (``sim``: a simulated output)
    provider: str | None = None

    @classmethod
    def for_output(
        cls,
        path: Path | str,
        *,
        title: str,
        phase: int,
        row: str,
        model: str,
        tokens: int | None = None,
        cost_usd: float | None = None,
        validated_at: datetime | None = None,
    ) -> TrackingEntry:
        """An entry for the file at ``path`` as it is now (its sha256 is read here)."""
        return cls(
            path=Path(path),
            title=title,
            phase=phase,
            row=row,
            model=model,
            sha256=file_sha256(Path(path)),
            validated_at=validated_at or datetime.now(UTC),
            tokens=tokens,
            cost_usd=cost_usd,
        )

    def key(self) -> str:
        """Identity of the output: its absolute, normalised path."""
        return os.path.normpath(os.path.abspath(self.path))

    def fields(self, base_dir: Path) -> dict[str, object]:
        """The entry as ordered fields, ``None`` for unknown values."""
        return {
            "path": relative_path(self.path, base_dir),
            "title": self.title,
            "phase": self.phase,
            "row": int(self.row) if self.row.isdigit() else self.row,
            "model": self.model,
            "sha256": self.sha256,
            "validated_at": format_time(self.validated_at),
            "tokens": self.tokens,
            "cost_usd": None if self.cost_usd is None else round(self.cost_usd, 6),
            **({"provider": self.provider} if self.provider else {}),
        }


def file_sha256(path: Path) -> str:
    """The output's sha256, read through :mod:`orchestrator.safeio` (a regular file within the output limit)."""
    return hashlib.sha256(read_bytes(path, OUTPUT)).hexdigest()


def format_time(moment: datetime) -> str:
    """UTC, to the second, ISO 8601 with ``Z``."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def relative_path(path: Path, base_dir: Path) -> str:
    """``path`` relative to ``base_dir`` with ``/`` separators (absolute if on another drive)."""
    absolute = os.path.abspath(path)
    try:
        return Path(os.path.relpath(absolute, os.path.abspath(base_dir))).as_posix()
    except ValueError:
        return Path(absolute).as_posix()


def register_entries(text: str | None, entries: Sequence[TrackingEntry], tracking_path: Path) -> str:
    """The tracking file's new text with ``entries`` registered (``text=None``: no file yet)."""
    records = [entry.fields(tracking_path.parent) for entry in entries]
    if tracking_path.suffix.lower() in MARKDOWN_SUFFIXES:
        return tracking_md.register(text, records)
    return tracking_yaml.register(text, records, tracking_path)
