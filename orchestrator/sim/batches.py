"""The Message Batches store: create, poll, list, cancel, delete, and JSONL results.

A batch stays ``in_progress`` for ``batch_delay_ms``, then a background timer
answers every request in one go with the callback the server supplies (the
same code path as a real-time message), and the batch ends. Results are
written in a shuffled order (seeded), as the real API does not keep request
order. Cancelling marks it ``canceling`` for a moment; each request not
answered yet still finishes with probability ``cancel_finish`` (it was
already running) and otherwise ends ``canceled``. Request counts stay at
``processing`` until the whole batch ends, as the real API reports.
:meth:`BatchStore.counts` says how many batches (and requests) were created.
"""

from __future__ import annotations

import json
import random
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from orchestrator.sim.messages import new_id

_CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
MAX_REQUESTS = 100_000

#: Answers one request's ``params`` with a result: ``{"type": "succeeded", "message": ...}``,
#: ``{"type": "errored", "error": ...}`` or ``{"type": "expired"}``.
Processor = Callable[[Mapping[str, Any]], dict[str, Any]]


class BatchError(Exception):
    """An API error for the server to send: status, error type, message."""

    def __init__(self, status: int, error_type: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type
        self.message = message


@dataclass
class _Batch:
    id: str
    created_at: datetime
    requests: list[tuple[str, Mapping[str, Any]]]
    status: str = "in_progress"
    started: bool = False
    ended_at: datetime | None = None
    cancel_initiated_at: datetime | None = None
    results: list[dict[str, Any]] = field(default_factory=list)
    timer: threading.Timer | None = None


def _stamp(when: datetime | None) -> str | None:
    return when.isoformat(timespec="microseconds").replace("+00:00", "Z") if when else None


class BatchStore:
    """All batches of one server. Thread-safe."""

    def __init__(self, process: Processor, delay_s: float, *, seed: int = 0, cancel_finish: float = 0.0) -> None:
        self._process = process
        self._delay = delay_s
        self._batches: dict[str, _Batch] = {}  # insertion order = creation order
        self._lock = threading.Lock()
        self._closed = False
        self._rng = random.Random(f"{seed}\x00batches")
        self._cancel_finish = cancel_finish
        self._created = 0
        self._created_requests = 0

    def counts(self) -> dict[str, int]:
        """Batches created (accepted POSTs) and the requests they held, since the server started."""
        with self._lock:
            return {"batches_created": self._created, "batch_requests_created": self._created_requests}

    # --- the endpoints --------------------------------------------------------

    def create(self, body: Any, base_url: str) -> dict[str, Any]:
        requests = _check_requests(body)
        batch = _Batch(new_id("msgbatch_"), datetime.now(UTC), requests)
        with self._lock:
            self._batches[batch.id] = batch
            self._created += 1
            self._created_requests += len(requests)
            self._schedule(batch, self._delay)
            return self._view(batch, base_url)

    def retrieve(self, batch_id: str, base_url: str) -> dict[str, Any]:
        with self._lock:
            return self._view(self._get(batch_id), base_url)

    def list(
        self,
        base_url: str,
        limit: int = 20,
        after_id: str | None = None,
        before_id: str | None = None,
    ) -> dict[str, Any]:
        if not 1 <= limit <= 1000:
            raise BatchError(400, "invalid_request_error", "limit: must be between 1 and 1000")
        with self._lock:
            newest_first = list(reversed(self._batches.values()))
            ids = [b.id for b in newest_first]
            for cursor in (after_id, before_id):
                if cursor is not None and cursor not in self._batches:
                    raise BatchError(404, "not_found_error", f"No batch with id {cursor!r}")
            if after_id is not None:
                start = ids.index(after_id) + 1
                page, more = newest_first[start : start + limit], start + limit < len(ids)
            elif before_id is not None:
                end = ids.index(before_id)
                page, more = newest_first[max(0, end - limit) : end], end - limit > 0
            else:
                page, more = newest_first[:limit], limit < len(ids)
            data = [self._view(b, base_url) for b in page]
        return {
            "data": data,
            "has_more": more,
            "first_id": data[0]["id"] if data else None,
            "last_id": data[-1]["id"] if data else None,
        }

    def cancel(self, batch_id: str, base_url: str) -> dict[str, Any]:
        with self._lock:
            batch = self._get(batch_id)
            if batch.status == "in_progress":
                batch.status = "canceling"
                batch.cancel_initiated_at = datetime.now(UTC)
                if not batch.started and batch.timer is not None:
                    batch.timer.cancel()
                    self._schedule(batch, min(self._delay, 0.05))
            return self._view(batch, base_url)

    def delete(self, batch_id: str) -> dict[str, Any]:
        with self._lock:
            batch = self._get(batch_id)
            if batch.status != "ended":
                raise BatchError(
                    400,
                    "invalid_request_error",
                    f"Batch {batch_id} is still processing; cancel it and wait for it to end before deleting it",
                )
            del self._batches[batch_id]
        return {"id": batch_id, "type": "message_batch_deleted"}

    def results(self, batch_id: str) -> bytes:
        with self._lock:
            batch = self._get(batch_id)
            if batch.status != "ended":
                raise BatchError(400, "invalid_request_error", f"Batch {batch_id} has not finished processing")
            lines = [json.dumps(r, separators=(",", ":")) for r in batch.results]
        return "".join(line + "\n" for line in lines).encode()

    def close(self) -> None:
        """Stop pending timers (the server is stopping)."""
        with self._lock:
            self._closed = True
            for batch in self._batches.values():
                if batch.timer is not None:
                    batch.timer.cancel()

    # --- processing -------------------------------------------------------------

    def _schedule(self, batch: _Batch, delay: float) -> None:
        if self._closed:
            return
        batch.timer = threading.Timer(delay, self._run, args=(batch.id,))
        batch.timer.daemon = True
        batch.timer.start()

    def _run(self, batch_id: str) -> None:
        with self._lock:
            batch = self._batches.get(batch_id)
            if batch is None or batch.started:
                return
            batch.started = True
            requests = list(batch.requests)
        results: list[dict[str, Any]] = []
        for custom_id, params in requests:
            with self._lock:
                canceled = (batch.status == "canceling" and self._rng.random() >= self._cancel_finish) or self._closed
            result = {"type": "canceled"} if canceled else self._safe_process(params)
            results.append({"custom_id": custom_id, "result": result})
        with self._lock:
            self._rng.shuffle(results)
            batch.results = results
            batch.status = "ended"
            batch.ended_at = datetime.now(UTC)

    def _safe_process(self, params: Mapping[str, Any]) -> dict[str, Any]:
        try:
            return self._process(params)
        except Exception as exc:  # a bug in one answer must not wedge the batch
            error = {"type": "api_error", "message": f"internal simulator error: {exc}"}
            return {"type": "errored", "error": {"type": "error", "error": error}}

    # --- views --------------------------------------------------------------------

    def _get(self, batch_id: str) -> _Batch:
        batch = self._batches.get(batch_id)
        if batch is None:
            raise BatchError(404, "not_found_error", f"No batch with id {batch_id!r}")
        return batch

    def _view(self, batch: _Batch, base_url: str) -> dict[str, Any]:
        counts = dict.fromkeys(("processing", "succeeded", "errored", "canceled", "expired"), 0)
        if batch.status == "ended":
            for line in batch.results:
                counts[line["result"]["type"]] += 1
        else:
            counts["processing"] = len(batch.requests)
        ended = batch.status == "ended"
        return {
            "id": batch.id,
            "type": "message_batch",
            "processing_status": batch.status,
            "request_counts": counts,
            "created_at": _stamp(batch.created_at),
            "expires_at": _stamp(batch.created_at + timedelta(hours=24)),
            "ended_at": _stamp(batch.ended_at),
            "cancel_initiated_at": _stamp(batch.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{batch.id}/results" if ended else None,
        }


def _check_requests(body: Any) -> list[tuple[str, Mapping[str, Any]]]:
    def bad(message: str) -> BatchError:
        return BatchError(400, "invalid_request_error", message)

    if not isinstance(body, Mapping):
        raise bad("request body must be a JSON object")
    requests = body.get("requests")
    if not isinstance(requests, list) or not requests:
        raise bad("requests: Field required (a non-empty list)")
    if len(requests) > MAX_REQUESTS:
        raise bad(f"requests: at most {MAX_REQUESTS} requests per batch")
    seen: set[str] = set()
    out: list[tuple[str, Mapping[str, Any]]] = []
    for i, item in enumerate(requests):
        if not isinstance(item, Mapping):
            raise bad(f"requests.{i}: Input should be an object")
        custom_id = item.get("custom_id")
        if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
            raise bad(f"requests.{i}.custom_id: {custom_id!r} must match ^[a-zA-Z0-9_-]{{1,64}}$")
        if custom_id in seen:
            raise bad(f"requests.{i}.custom_id: {custom_id!r} is not unique within the batch")
        seen.add(custom_id)
        params = item.get("params")
        if not isinstance(params, Mapping):
            raise bad(f"requests.{i}.params: Field required")
        out.append((custom_id, params))
    return out
