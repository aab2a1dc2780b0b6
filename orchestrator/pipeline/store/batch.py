"""A batch: one run of a plan's phase, and the folder that holds its checkpoints.

A batch is named by its id (default ``<plan-stem>-phase<N>``). Its folder,
``data/<id>/`` beside the plan unless ``--data-dir`` says otherwise, holds
``batch.json`` (plan, phase, settings, created), one ``item-NNNN/`` folder per
row, ``all_results.json`` and ``ledger.jsonl``. The report goes to
``output/<id>/index.html`` beside the plan. Once ``batch.json`` exists, a stage
given only ``--batch-id`` finds the plan and phase from it.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInputError, PlanError
from orchestrator.pipeline.store.shapes import checked, damaged, load_json
from orchestrator.plan.check import file_in_the_way
from orchestrator.plan.model import item_key
from orchestrator.plan.parser import folder_hint
from orchestrator.recorder.atomic import atomic_write
from orchestrator.recorder.atomic import real_path as real  # os.path.realpath: a symlink loop is no RuntimeError

STAGES = ("acquire", "prepare", "process", "parse", "render")
BATCH_FILE = "batch.json"
RESULTS_FILE = "all_results.json"
LEDGER_FILE = "ledger.jsonl"
REPORT_FILE = "index.html"

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_SKIP_DIRS = {".git", "node_modules", ".venv", "venv", "__pycache__", ".tox"}
_SEARCH_DEPTH = 4


def now_iso() -> str:
    """The current UTC time as ISO 8601 (seconds), as every checkpoint records it."""
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class BatchSettings:
    """Options that stick to a batch: a later stage without them reuses these.

    Only the model sticks. The provider never does: each command resolves its
    own (``--provider``, then the environment), so a rehearsal with
    ``--provider sim`` cannot silently become the provider of a later real run;
    which provider the batch's responses came from is recorded with each
    response instead (see :mod:`orchestrator.pipeline.provenance`). A
    ``settings.provider`` left in an older ``batch.json`` is ignored. How a
    command runs (workers, repair attempts, limit, spend cap) is per command.
    """

    model: str | None = None

    def merged(self, **given: Any) -> BatchSettings:
        """These settings with every option the user actually gave (not ``None``)."""
        return replace(self, **{k: v for k, v in given.items() if v is not None})


@dataclass(frozen=True)
class Batch:
    """Where a batch lives and what it runs. Paths are absolute."""

    id: str
    plan_path: Path
    phase: int
    dir: Path
    report_dir: Path
    settings: BatchSettings = field(default_factory=BatchSettings)
    created: str = ""

    @property
    def batch_file(self) -> Path:
        return self.dir / BATCH_FILE

    @property
    def results_path(self) -> Path:
        return self.dir / RESULTS_FILE

    @property
    def ledger_path(self) -> Path:
        return self.dir / LEDGER_FILE

    @property
    def report_path(self) -> Path:
        return self.report_dir / REPORT_FILE

    def item_dir(self, item_id: str) -> Path:
        return self.dir / item_id

    def item_ids(self) -> list[str]:
        """Items that have a folder in the batch, in row order."""
        if not self.dir.is_dir():
            return []
        found = [p.name for p in self.dir.iterdir() if p.is_dir() and p.name.startswith("item-")]
        return sorted(found, key=item_sort_key)

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.id,
            "plan": _relative(self.plan_path, self.dir),
            "plan_absolute": os.fspath(self.plan_path),
            "phase": self.phase,
            "report_dir": _relative(self.report_dir, self.dir),
            "settings": asdict(self.settings),
            "created": self.created,
        }

    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.as_dict(), indent=2) + "\n"
        atomic_write(self.batch_file, text.encode("utf-8"))


def _relative(path: Path, start: Path) -> str:
    return Path(os.path.relpath(path, start)).as_posix()


def item_sort_key(name: str) -> tuple[int, int, str]:
    tail = name.removeprefix("item-")
    return (0, int(tail), "") if tail.isdigit() else (1, 0, tail)


def item_id(row_id: str) -> str:
    """The folder name of a row's item (see :func:`orchestrator.plan.model.item_key`)."""
    return item_key(row_id)


def default_batch_id(plan_path: Path, phase: int) -> str:
    """``<plan-stem>-phase<N>``, e.g. ``glossary-phase1``."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", plan_path.stem).strip("-.") or "plan"
    return f"{stem}-phase{phase}"


def check_batch_id(batch_id: str) -> str:
    if not _ID_RE.match(batch_id):
        raise BadInputError(
            f"invalid batch id {batch_id!r} (--batch-id names a folder under the data folder)",
            hint="use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit (no '/' or '..')",
        )
    return batch_id


def load_batch(batch_file: Path) -> Batch:
    """Read ``batch.json``; relative paths in it resolve against its folder."""
    data = checked(batch_file, load_json(batch_file))
    if data["phase"] < 1:
        raise damaged(batch_file, f"'phase' must be 1 or more, found {data['phase']}")
    folder = real(batch_file.parent)
    plan = real(folder / data["plan"])
    if not plan.exists() and data.get("plan_absolute"):
        plan = Path(data["plan_absolute"])
    saved = data.get("settings") or {}
    return Batch(
        id=data["batch_id"],
        plan_path=plan,
        phase=data["phase"],
        dir=folder,
        report_dir=real(folder / data["report_dir"]),
        settings=BatchSettings(model=saved.get("model")),
        created=str(data.get("created", "")),
    )


def find_batch(batch_id: str, data_dir: Path | None = None, cwd: Path | None = None) -> Path | None:
    """``batch.json`` of ``batch_id``: in ``data_dir``, else the one ``data/ID`` under ``cwd``.

    Several projects under one folder may each have a batch of that id: that
    is bad input listing every candidate, never one picked silently.
    """
    found = find_batches(batch_id, data_dir, cwd)
    if len(found) > 1:
        listed = "\n".join(f"    - {_shown(path.parent)} (plan {_plan_of(path)})" for path in found)
        raise BadInputError(
            f"--batch-id {batch_id} matches {len(found)} batch folders:\n{listed}",
            hint="name the plan (`PLAN --phase N`), or pass --data-dir with the folder that holds the one you mean",
        )
    return found[0] if found else None


def find_batches(batch_id: str, data_dir: Path | None = None, cwd: Path | None = None) -> list[Path]:
    """Every ``batch.json`` of ``batch_id``: in ``data_dir``, else ``./data/ID`` and any ``data/ID`` below."""
    if data_dir is not None:
        candidate = data_dir / batch_id / BATCH_FILE
        return [candidate] if candidate.is_file() else []
    root = (cwd or Path.cwd()).resolve()
    direct = root / "data" / batch_id / BATCH_FILE
    found = [direct] if direct.is_file() else []
    return found + _search(root, batch_id, _SEARCH_DEPTH)


def _shown(path: Path) -> str:
    """``path`` relative to the current folder when below it (as a person would type it)."""
    try:
        return Path(os.path.relpath(path)).as_posix() if path.is_relative_to(Path.cwd()) else str(path)
    except ValueError:
        return str(path)


def _plan_of(batch_file: Path) -> str:
    try:
        return _shown(load_batch(batch_file).plan_path)
    except BadInputError:
        return "unreadable batch.json"


def _search(folder: Path, batch_id: str, depth: int) -> list[Path]:
    """Every ``data/<batch_id>/batch.json`` below ``folder``, breadth first (``depth`` levels)."""
    level, found = [folder], []
    for _ in range(depth):
        following: list[Path] = []
        for parent in level:
            try:
                children = sorted(p for p in parent.iterdir() if p.is_dir())
            except OSError:
                continue
            for child in children:
                if child.name in _SKIP_DIRS or child.name.startswith("."):
                    continue
                candidate = child / "data" / batch_id / BATCH_FILE
                if candidate.is_file():
                    found.append(candidate)
                following.append(child)
        level = following
    return found


def new_batch(
    plan_path: Path,
    phase: int,
    batch_id: str | None = None,
    data_dir: Path | None = None,
    report_dir: Path | None = None,
) -> Batch:
    """A batch object for ``plan_path``'s ``phase`` (not yet saved)."""
    plan_path = real(plan_path)
    ident = check_batch_id(batch_id or default_batch_id(plan_path, phase))
    root = real(data_dir or plan_path.parent / "data")
    reports = real(report_dir or plan_path.parent / "output" / ident)
    return Batch(ident, plan_path, phase, root / ident, reports, BatchSettings(), now_iso())


def open_batch(
    plan_path: Path | None,
    phase: int | None,
    batch_id: str | None,
    data_dir: Path | None = None,
    report_dir: Path | None = None,
) -> Batch:
    """The batch a command names: found by id, or made from the plan and phase.

    Raises :class:`BadInputError` when neither identifies a batch, or when an
    existing batch belongs to another plan or phase.
    """
    if plan_path is not None and plan_path.is_dir():
        raise PlanError("is a folder, not a plan file", path=plan_path, hint=folder_hint(plan_path))
    if batch_id is not None:
        check_batch_id(batch_id)
    if plan_path is None:
        if batch_id is None:
            raise BadInputError(
                "name a plan and phase (PLAN --phase N), or an existing batch (--batch-id ID)",
                hint="e.g. `orchestrate acquire plans/glossary.md --phase 1`, "
                "or `--batch-id ID` for a batch that exists",
            )
        found = find_batch(batch_id, data_dir)
        if found is None:
            where = data_dir or Path("data")
            raise BadInputError(
                f"no batch {batch_id!r} found (looked for {where}/{batch_id}/batch.json)",
                hint=f"create it with `orchestrate acquire PLAN --phase N --batch-id {batch_id}`, or pass --data-dir",
            )
        return load_batch(found)
    if phase is None:
        existing = _existing_for(plan_path, batch_id, data_dir)
        if existing is None:
            raise BadInputError("--phase is required for a new batch", path=plan_path, hint="e.g. `--phase 1`")
        return existing
    batch = new_batch(plan_path, phase, batch_id, data_dir, report_dir)
    if batch.batch_file.is_file():
        existing_batch = load_batch(batch.batch_file)
        if existing_batch.phase != phase or existing_batch.plan_path != batch.plan_path:
            raise BadInputError(
                f"batch {batch.id!r} belongs to {existing_batch.plan_path} phase {existing_batch.phase}",
                path=batch.batch_file,
                hint="choose another --batch-id, or run it without PLAN and --phase",
            )
        return existing_batch
    return batch


def refuse_blocked_folders(batch: Batch) -> None:
    """Bad input when a file stands where the batch's folder or its report folder must be."""
    for folder, what, option in (
        (batch.dir, "batch folder", "--data-dir DIR"),
        (batch.report_dir, "report folder", "another --batch-id"),
    ):
        blocker = file_in_the_way(folder)
        if blocker is not None:
            raise BadInputError(
                f"is a file, so the {what} {folder} cannot be created",
                path=blocker,
                hint=f"move or rename {blocker}, or pass {option}",
            )


def _existing_for(plan_path: Path, batch_id: str | None, data_dir: Path | None) -> Batch | None:
    if batch_id is None:
        return None
    root = real(data_dir or plan_path.parent / "data")
    candidate = root / batch_id / BATCH_FILE
    return load_batch(candidate) if candidate.is_file() else None
