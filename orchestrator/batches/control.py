"""What ``orchestrate batches list|status|cancel`` does, without the CLI: read the journal, ask the API.

Cancelling only asks the API to stop: requests already running may still
finish. Nothing is collected, written or recorded here; the next
``run``/``process`` collects the batch like any other, so every row that did
not come back validated stays pending, with the reason in Run Notes.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from orchestrator.batches.api import BatchAPI, BatchInfo
from orchestrator.batches.jobs import BatchProgress
from orchestrator.batches.journal import Journal, Submission
from orchestrator.errors import ProviderError


@dataclass(frozen=True)
class SubmissionStatus:
    """One submission: what the journal says, and (for ``status``/``cancel``) what the API says."""

    submission: Submission
    info: BatchInfo | None = None
    error: str | None = None  # the API could not be asked

    @property
    def in_flight(self) -> bool:
        return self.submission.state == "submitted" and (self.info is None or not self.info.ended)


def journal_status(batch_dir: Path) -> list[SubmissionStatus]:
    """Every submission of a batch folder, oldest first, from the journal alone (no API call)."""
    return [SubmissionStatus(sub) for sub in Journal(batch_dir).submissions()]


async def live_status(api: BatchAPI, batch_dir: Path) -> list[SubmissionStatus]:
    """The journal's submissions with the API's view of each one that has a batch id and is not collected."""
    subs = await asyncio.to_thread(Journal(batch_dir).submissions)
    return [await _ask(api, sub) for sub in subs]


async def cancel_open(api: BatchAPI, batch_dir: Path) -> list[SubmissionStatus]:
    """Ask the API to cancel every submission still processing; the journal notes each request."""
    journal = Journal(batch_dir)
    out: list[SubmissionStatus] = []
    for sub in await asyncio.to_thread(journal.submissions):
        status = await _ask(api, sub)
        if status.in_flight and status.info is not None and sub.batch_id is not None:
            try:
                info = await api.cancel_batch(sub.batch_id)
            except ProviderError as exc:
                status = SubmissionStatus(sub, status.info, exc.render())
            else:
                await asyncio.to_thread(journal.mark_cancel, sub)
                status = SubmissionStatus(sub, info)
        out.append(status)
    return out


async def _ask(api: BatchAPI, sub: Submission) -> SubmissionStatus:
    if sub.batch_id is None or sub.state != "submitted":
        return SubmissionStatus(sub)
    try:
        return SubmissionStatus(sub, await api.retrieve_batch(sub.batch_id))
    except ProviderError as exc:
        return SubmissionStatus(sub, None, exc.render())


def in_flight(batch_dir: Path, requests: Iterable[tuple[str, str]]) -> set[str]:
    """Keys of ``(key, request key)`` pairs whose request is in a submission still open.

    Such a row must not be sent again by anyone: the batch run collects it, and
    an online run must leave it alone (it would pay for it twice).
    """
    held: dict[str, set[str]] = {}
    for sub in Journal(batch_dir).submissions():
        if sub.open:
            for r in sub.requests:
                held.setdefault(r.key, set()).add(r.request_hash)
    return {key for key, request in requests if request in held.get(key, ())}


def progress_text(progress: BatchProgress) -> str:
    """One line for a poll: counts, expiry and when the next poll is."""
    info = progress.batch
    counts = " ".join(f"{name} {n:,}" for name, n in vars(info.counts).items() if n)
    left = info.expires_at - datetime.now(UTC)
    hours = max(0.0, left.total_seconds() / 3600)
    wait = progress.next_poll_s
    after = f"; next check in {wait:.1f} s" if wait and wait < 10 else (f"; next check in {wait:.0f} s" if wait else "")
    return (f"Message Batch {info.id} ({progress.local}, {progress.requests:,} requests): {info.status}"
            f"{': ' + counts if counts else ''}; expires in {hours:.1f} h{after}")
