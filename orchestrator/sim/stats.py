"""What the simulator saw: thread-safe counters for tests and benchmarks.

Tests use them to prove that no second call was made; benchmarks use the
request timestamps to measure the rate a client actually achieved.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass


@dataclass(frozen=True)
class LoggedRequest:
    """One request as it arrived: enough to tell which client asked for what."""

    method: str
    path: str  # with the query string, e.g. "/v1/messages?beta=true"
    endpoint: str  # the route's name ("messages", "count_tokens", ..., "unknown")
    user_agent: str = ""


@dataclass(frozen=True)
class StatsSnapshot:
    """A consistent copy of :class:`SimStats` at one moment."""

    requests: dict[str, int]  # by endpoint: "messages", "count_tokens", "batches.create", ...
    responses: dict[int, int]  # by HTTP status (0 = connection dropped on purpose)
    faults: dict[str, int]  # injected on purpose: "p429", "p529", "p500", "pdisconnect"
    rate_limited: int  # 429s from the rpm/tpm/otpm limits
    internal_errors: int  # 500s from a bug in the simulator itself (never on purpose)
    messages_created: int  # successful POST /v1/messages answers
    batch_messages_created: int  # succeeded batch results
    input_tokens: int  # billed, real-time and batch together
    output_tokens: int
    cache_creation_input_tokens: int
    cache_read_input_tokens: int
    request_times: tuple[float, ...]  # time.monotonic() of every POST /v1/messages arrival
    success_times: tuple[float, ...]  # time.monotonic() of every successful answer
    log: tuple[LoggedRequest, ...] = ()  # every request, in order of arrival


class SimStats:
    """Counters updated by the server's threads; read them through :meth:`snapshot`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._requests: Counter[str] = Counter()
            self._responses: Counter[int] = Counter()
            self._faults: Counter[str] = Counter()
            self._rate_limited = 0
            self._internal_errors = 0
            self._messages = 0
            self._batch_messages = 0
            self._tokens: Counter[str] = Counter()
            self._request_times: list[float] = []
            self._success_times: list[float] = []
            self._log: list[LoggedRequest] = []

    def record_request(self, endpoint: str, *, method: str = "", path: str = "", user_agent: str = "") -> None:
        with self._lock:
            self._requests[endpoint] += 1
            self._log.append(LoggedRequest(method, path, endpoint, user_agent))
            if endpoint == "messages":
                self._request_times.append(time.monotonic())

    def record_response(self, status: int) -> None:
        with self._lock:
            self._responses[status] += 1

    def record_fault(self, name: str) -> None:
        with self._lock:
            self._faults[name] += 1

    def record_rate_limited(self) -> None:
        with self._lock:
            self._rate_limited += 1

    def record_internal_error(self) -> None:
        with self._lock:
            self._internal_errors += 1

    def record_usage(self, usage: dict[str, int], *, batch: bool = False) -> None:
        """Bill one message's usage (``input_tokens``, ``output_tokens``, cache fields)."""
        with self._lock:
            for name in (
                "input_tokens",
                "output_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
            ):
                self._tokens[name] += int(usage.get(name, 0))
            if batch:
                self._batch_messages += 1
            else:
                self._messages += 1
                self._success_times.append(time.monotonic())

    def snapshot(self) -> StatsSnapshot:
        with self._lock:
            return StatsSnapshot(
                requests=dict(self._requests),
                responses=dict(self._responses),
                faults=dict(self._faults),
                rate_limited=self._rate_limited,
                internal_errors=self._internal_errors,
                messages_created=self._messages,
                batch_messages_created=self._batch_messages,
                input_tokens=self._tokens["input_tokens"],
                output_tokens=self._tokens["output_tokens"],
                cache_creation_input_tokens=self._tokens["cache_creation_input_tokens"],
                cache_read_input_tokens=self._tokens["cache_read_input_tokens"],
                request_times=tuple(self._request_times),
                success_times=tuple(self._success_times),
                log=tuple(self._log),
            )

    # Shortcuts for the common questions (each takes its own consistent copy).

    @property
    def requests(self) -> dict[str, int]:
        return self.snapshot().requests

    @property
    def responses(self) -> dict[int, int]:
        return self.snapshot().responses

    @property
    def messages_created(self) -> int:
        return self.snapshot().messages_created

    @property
    def request_times(self) -> tuple[float, ...]:
        return self.snapshot().request_times

    def achieved_rate(self, *, successes: bool = True) -> float:
        """Requests per second between the first and last recorded (0 with fewer than 2)."""
        times = self.snapshot().success_times if successes else self.request_times
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return (len(times) - 1) / (times[-1] - times[0])
