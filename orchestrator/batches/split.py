"""Splitting a phase into submissions under the per-batch request and byte limits."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

T = TypeVar("T")
#: ``{"requests":[...]}`` around the items, and the comma between two items
_ENVELOPE_BYTES = 16


def request_bytes(custom_id: str, params: Mapping[str, Any]) -> int:
    """The size of one ``{"custom_id", "params"}`` item as JSON (as the SDK will send it, near enough)."""
    return len(json.dumps({"custom_id": custom_id, "params": params}, separators=(",", ":")).encode("utf-8"))


def split(items: Iterable[tuple[T, int]], max_requests: int, max_bytes: int) -> Iterator[list[T]]:
    """Consecutive groups of ``(item, size)``, each within both limits (order kept).

    An item larger than ``max_bytes`` on its own must be left out by the caller.
    """
    group: list[T] = []
    size = _ENVELOPE_BYTES
    for item, n in items:
        if group and (len(group) >= max_requests or size + n + 1 > max_bytes):
            yield group
            group, size = [], _ENVELOPE_BYTES
        group.append(item)
        size += n + 1
    if group:
        yield group


def fits(n: int, max_bytes: int) -> bool:
    """Whether one request of ``n`` bytes fits in a batch on its own."""
    return _ENVELOPE_BYTES + n <= max_bytes
