"""Finding the batch of a submission whose id was never written (the crash fell after the POST).

The API does not say which requests a batch holds until it has ended, so:
candidates are the account's batches created since the intent (less a margin
for clock skew) that no other submission claims, with exactly as many
requests. An ended candidate is ours only if its results carry exactly our
``custom_id``\\s. A candidate still in progress cannot be checked yet: a
single one is adopted (and checked when its results come: requests it does
not answer are then reported and resubmitted by a later run); several leave
the submission unresolved, its rows held back, until they end. No candidate
at all means the POST never arrived: the intent is abandoned and its rows may
be submitted. Nothing is submitted for a row while its submission is unresolved.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from orchestrator.batches.api import BatchAPI, BatchInfo
from orchestrator.batches.journal import Submission
from orchestrator.errors import ProviderError


@dataclass
class Recovery:
    """What became of each submission that had no batch id."""

    adopted: list[tuple[Submission, BatchInfo]] = field(default_factory=list)
    abandoned: list[Submission] = field(default_factory=list)
    unresolved: list[Submission] = field(default_factory=list)


async def recover(api: BatchAPI, orphans: list[Submission], claimed: set[str], window_s: float) -> Recovery:
    """Match ``orphans`` (oldest first) to unclaimed recent batches; see the module docstring."""
    out = Recovery()
    if not orphans:
        return out
    margin = timedelta(seconds=window_s)
    since = min(o.created_at for o in orphans) - margin
    candidates = [b async for b in api.recent_batches(since) if b.id not in claimed]
    for orphan in orphans:
        ids = {r.custom_id for r in orphan.requests}
        fit = [b for b in candidates if b.counts.total == len(ids) and b.created_at >= orphan.created_at - margin]
        match = await _verified(api, [b for b in fit if b.ended], ids)
        running = [b for b in fit if not b.ended]
        if match is None and len(running) == 1:
            match = running[0]
        if match is not None:
            out.adopted.append((orphan, match))
            candidates.remove(match)
        elif running:
            out.unresolved.append(orphan)
        else:
            out.abandoned.append(orphan)
    return out


async def _verified(api: BatchAPI, ended: list[BatchInfo], ids: set[str]) -> BatchInfo | None:
    for batch in ended:
        try:
            found = {line.custom_id async for line in api.batch_results(batch.id)}
        except ProviderError as exc:
            if exc.status == 404:  # its results are gone (deleted, or older than 29 days): not ours to adopt
                continue
            raise
        if found == ids:
            return batch
    return None
