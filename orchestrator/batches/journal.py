"""The submission journal: what was sent, durably, before and after each POST.

One folder per submission under ``<batch folder>/batches/``::

    sub-0001/intent.json     the requests about to be submitted (custom_id, row key,
                             request hash, repair number, model and its prices),
                             written and fsynced BEFORE the POST
    sub-0001/submitted.json  the batch id the API returned, written right after it
    sub-0001/collecting      results are being collected (a rerun de-duplicates the ledger)
    sub-0001/collected.json  every result was handled; what did not succeed, and why
    sub-0001/abandoned.json  the POST certainly created nothing (refused, or not found later)
    sub-0001/cancel.json     ``orchestrate batches cancel`` asked the API to cancel it

Every file is replaced atomically (:func:`~orchestrator.recorder.atomic.atomic_write`,
which fsyncs the file and its folder), so a crash at any instant leaves either
an intent without an id (the rerun looks the batch up by its requests' custom
ids before submitting anything), or an id to poll. Call the writing methods off
the event loop (``asyncio.to_thread``).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from orchestrator.batches.api import BatchInfo, RequestCounts
from orchestrator.errors import CheckpointError
from orchestrator.models import ModelInfo
from orchestrator.recorder.atomic import atomic_write, fsync_dir

JOURNAL_DIR = "batches"
INTENT, SUBMITTED, COLLECTING, COLLECTED, ABANDONED, CANCEL = (
    "intent.json", "submitted.json", "collecting", "collected.json", "abandoned.json", "cancel.json",
)
_PREFIX = "sub-"


def now() -> datetime:
    return datetime.now(UTC)


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class JournalRequest:
    """One request of a submission, and the row it belongs to."""

    custom_id: str
    key: str
    row_id: str
    request_hash: str
    repair: int  # 0: the row's request; n: its n-th repair turn
    model: str  # alias in the submission's ``models``
    #: repairs only: the turns sent after the row's request (the previous draft, the validator's message)
    turns: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FailedResult:
    """A result that did not succeed: errored (with the API's error), canceled or expired."""

    type: str
    error_type: str | None = None
    error: str | None = None


@dataclass
class Submission:
    """One submission as the journal knows it."""

    local: str
    dir: Path
    created_at: datetime
    requests: list[JournalRequest]
    models: dict[str, ModelInfo]
    batch_id: str | None = None
    expires_at: str | None = None
    abandoned: str | None = None
    collecting: bool = False
    collected: bool = False
    failed: dict[str, FailedResult] = field(default_factory=dict)
    cancel_requested: bool = False

    @property
    def state(self) -> str:
        """``intent`` (id unknown), ``submitted``, ``collected`` or ``abandoned``."""
        if self.abandoned is not None:
            return "abandoned"
        if self.collected:
            return "collected"
        return "submitted" if self.batch_id else "intent"

    @property
    def open(self) -> bool:
        """Results may still come: submitted and not collected, or an intent not yet resolved."""
        return self.state in ("intent", "submitted")


class Journal:
    """The ``batches/`` folder of one batch folder."""

    def __init__(self, batch_dir: Path) -> None:
        self.root = batch_dir / JOURNAL_DIR

    def submissions(self) -> list[Submission]:
        """Every submission with an intent, oldest first."""
        if not self.root.is_dir():
            return []
        found = []
        for folder in sorted(self.root.iterdir()):
            if folder.name.startswith(_PREFIX) and (folder / INTENT).is_file():
                found.append(_load(folder))
        return found

    # --- writing (blocking: call through asyncio.to_thread) -----------------------

    def write_intent(self, requests: list[JournalRequest], models: dict[str, ModelInfo]) -> Submission:
        """Durably record the requests about to be POSTed, in a new submission folder."""
        self.root.mkdir(parents=True, exist_ok=True)
        folder = self._new_folder()
        fsync_dir(self.root)
        created = now()
        data = {
            "local": folder.name,
            "created_at": _iso(created),
            "models": {alias: asdict(info) for alias, info in models.items()},
            "requests": [_request_dict(r) for r in requests],
        }
        _write(folder / INTENT, data)
        return Submission(folder.name, folder, created, requests, models)

    def write_submitted(self, sub: Submission, info: BatchInfo) -> None:
        data = {"batch_id": info.id, "created_at": _iso(info.created_at), "expires_at": _iso(info.expires_at),
                "recorded_at": _iso(now())}
        _write(sub.dir / SUBMITTED, data)
        sub.batch_id, sub.expires_at = info.id, data["expires_at"]

    def abandon(self, sub: Submission, reason: str) -> None:
        _write(sub.dir / ABANDONED, {"reason": reason, "at": _iso(now())})
        sub.abandoned = reason

    def mark_collecting(self, sub: Submission) -> None:
        if not sub.collecting:
            _write(sub.dir / COLLECTING, {"at": _iso(now())})
            sub.collecting = True

    def mark_collected(self, sub: Submission, counts: RequestCounts, failed: dict[str, FailedResult]) -> None:
        data = {"at": _iso(now()), "counts": asdict(counts),
                "failed": {cid: asdict(f) for cid, f in sorted(failed.items())}}
        _write(sub.dir / COLLECTED, data)
        sub.collected, sub.failed = True, dict(failed)

    def mark_cancel(self, sub: Submission) -> None:
        _write(sub.dir / CANCEL, {"at": _iso(now())})
        sub.cancel_requested = True

    def _new_folder(self) -> Path:
        taken = [int(p.name[len(_PREFIX):]) for p in self.root.iterdir()
                 if p.name.startswith(_PREFIX) and p.name[len(_PREFIX):].isdigit()]
        number = max(taken, default=0) + 1
        while True:
            folder = self.root / f"{_PREFIX}{number:04d}"
            try:
                folder.mkdir()
            except FileExistsError:
                number += 1
                continue
            return folder


def _request_dict(r: JournalRequest) -> dict[str, Any]:
    data: dict[str, Any] = {"id": r.custom_id, "key": r.key, "row": r.row_id, "hash": r.request_hash,
                            "repair": r.repair, "model": r.model}
    if r.turns:
        data["turns"] = [list(t) for t in r.turns]
    return data


def _request(r: dict[str, Any]) -> JournalRequest:
    turns = tuple((str(role), str(text)) for role, text in r.get("turns") or ())
    return JournalRequest(str(r["id"]), str(r["key"]), str(r["row"]), str(r["hash"]), int(r["repair"]),
                          str(r["model"]), turns)


def _write(path: Path, data: dict[str, Any]) -> None:
    atomic_write(path, (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8"))


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise _damaged(path, str(exc)) from None
    if not isinstance(data, dict):
        raise _damaged(path, "not a JSON object")
    return data


def _load(folder: Path) -> Submission:
    intent = _read(folder / INTENT)
    assert intent is not None
    try:
        models = {alias: ModelInfo(**info) for alias, info in intent["models"].items()}
        requests = [_request(r) for r in intent["requests"]]
        created = datetime.fromisoformat(intent["created_at"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise _damaged(folder / INTENT, f"unreadable field: {exc}") from None
    sub = Submission(folder.name, folder, created, requests, models)
    submitted = _read(folder / SUBMITTED)
    if submitted is not None:
        sub.batch_id, sub.expires_at = str(submitted["batch_id"]), submitted.get("expires_at")
    abandoned = _read(folder / ABANDONED)
    if abandoned is not None:
        sub.abandoned = str(abandoned.get("reason") or "abandoned")
    collected = _read(folder / COLLECTED)
    if collected is not None:
        sub.collected = True
        sub.failed = {cid: FailedResult(**f) for cid, f in (collected.get("failed") or {}).items()}
    sub.collecting = os.path.exists(folder / COLLECTING)
    sub.cancel_requested = os.path.exists(folder / CANCEL)
    return sub


def _damaged(path: Path, detail: str) -> CheckpointError:
    return CheckpointError(
        f"a batch submission record is damaged ({detail})",
        path=path,
        hint="look the batch up with `orchestrate batches list`; if it has ended and been collected, "
        "move the submission folder away",
    )
