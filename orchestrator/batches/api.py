"""What the batch runner needs from a Message Batches service, as typed records.

:class:`orchestrator.providers.anthropic_batch.AnthropicBatchProvider`
implements :class:`BatchAPI` over the ``anthropic`` SDK; the runner
(:mod:`orchestrator.batches.runner`) sees only these records, so it never
imports the SDK and tests may give it any object with these methods. Every
method raises only :class:`orchestrator.errors.ProviderError`\\s.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from orchestrator.providers.base import CallRequest, CallResult

ProcessingStatus = Literal["in_progress", "canceling", "ended"]
ResultType = Literal["succeeded", "errored", "canceled", "expired"]


@dataclass(frozen=True)
class RequestCounts:
    """How many requests of a batch are in each state (the API moves them only at the end)."""

    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0

    @property
    def total(self) -> int:
        return self.processing + self.succeeded + self.errored + self.canceled + self.expired


@dataclass(frozen=True)
class BatchInfo:
    """One Message Batch as the service reports it."""

    id: str
    status: ProcessingStatus
    counts: RequestCounts
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None

    @property
    def ended(self) -> bool:
        return self.status == "ended"


@dataclass(frozen=True)
class BatchResultLine:
    """One line of a batch's results file.

    ``result`` is set for ``succeeded``; ``error_type`` and ``error`` for
    ``errored`` (``invalid_request_error`` means the request itself is wrong).
    """

    custom_id: str
    type: ResultType
    result: CallResult | None = None
    error_type: str | None = None
    error: str | None = None


#: One request of a batch: its ``custom_id`` and ``params`` (``messages.create`` arguments).
BatchRequest = tuple[str, Mapping[str, Any]]


class BatchAPI(Protocol):
    """The Message Batches endpoints, one call each, errors mapped to the project's."""

    def batch_params(self, request: CallRequest) -> Mapping[str, Any]:
        """The ``params`` of one batch request: the online request layout."""

    async def create_batch(self, requests: Sequence[BatchRequest]) -> BatchInfo: ...

    async def retrieve_batch(self, batch_id: str) -> BatchInfo: ...

    async def cancel_batch(self, batch_id: str) -> BatchInfo: ...

    def recent_batches(self, since: datetime) -> AsyncIterator[BatchInfo]:
        """Batches created at or after ``since``, newest first (pages as needed)."""

    def batch_results(self, batch_id: str) -> AsyncIterator[BatchResultLine]:
        """The results of an ended batch, streamed, in the service's (any) order."""
