"""Token counting shared by billing, ``count_tokens`` and the prompt cache.

A request is flattened into :class:`Segment` objects in the order the API
reads it (tools, system, messages). Each segment costs
``ceil(len(text) / chars_per_token)`` tokens, and the first segment of every
message costs :data:`MESSAGE_OVERHEAD` more. Because billing, ``count_tokens``
and caching all use :func:`segments`, ``count_tokens`` always equals
``input_tokens + cache_creation_input_tokens + cache_read_input_tokens``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: Tokens added for each message's role and framing.
MESSAGE_OVERHEAD = 3


@dataclass(frozen=True)
class Segment:
    """One content block of a request: its text, its cost, and its cache mark."""

    role: str  # "tool", "system", "user" or "assistant": part of the cache key
    text: str
    tokens: int
    cache_ttl: str | None  # "5m" or "1h" when the block carries cache_control


def count_text(text: str, chars_per_token: float) -> int:
    """Tokens in ``text``: one per ``chars_per_token`` characters, rounded up."""
    return math.ceil(len(text) / chars_per_token) if text else 0


def block_text(block: Any) -> str:
    """The text a content block contributes (non-text blocks count as their JSON)."""
    if isinstance(block, str):
        return block
    if isinstance(block, Mapping):
        if block.get("type") == "text" and isinstance(block.get("text"), str):
            return str(block["text"])
        rest = {k: v for k, v in block.items() if k != "cache_control"}
        return json.dumps(rest, sort_keys=True, ensure_ascii=False)
    return json.dumps(block, ensure_ascii=False, default=str)


def _cache_ttl(block: Any) -> str | None:
    if not isinstance(block, Mapping):
        return None
    control = block.get("cache_control")
    if not isinstance(control, Mapping):
        return None
    return "1h" if control.get("ttl") == "1h" else "5m"


def _blocks(content: Any) -> list[Any]:
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return content
    return [content]


def segments(request: Mapping[str, Any], chars_per_token: float) -> list[Segment]:
    """The request's content blocks in reading order, each with its token cost."""
    out: list[Segment] = []

    def add(role: str, block: Any, overhead: int) -> None:
        text = block_text(block)
        tokens = count_text(text, chars_per_token) + overhead
        out.append(Segment(role, text, tokens, _cache_ttl(block)))

    for tool in _blocks(request.get("tools")):
        add("tool", tool, 0)
    for block in _blocks(request.get("system")):
        add("system", block, 0)
    for message in _blocks(request.get("messages")):
        if not isinstance(message, Mapping):
            continue
        role = str(message.get("role", ""))
        blocks = _blocks(message.get("content"))
        if not blocks:
            out.append(Segment(role, "", MESSAGE_OVERHEAD, None))
        for i, block in enumerate(blocks):
            add(role, block, MESSAGE_OVERHEAD if i == 0 else 0)
    return out


def count_request(request: Mapping[str, Any], chars_per_token: float) -> int:
    """Total input tokens of a request, as billed and as ``count_tokens`` reports."""
    return sum(s.tokens for s in segments(request, chars_per_token))
