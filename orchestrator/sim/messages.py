"""Messages API bodies: request validation, the message object, and its SSE stream.

No HTTP here: :mod:`orchestrator.sim.server` (real-time) and
:mod:`orchestrator.sim.batches` (batch items) both build answers with
:func:`create_message`, so a batch result is exactly what a real-time call
would have returned.
"""

from __future__ import annotations

import json
import secrets
import string
from collections.abc import Mapping
from typing import Any

from orchestrator.sim.agent import agent_reply, is_agent_request
from orchestrator.sim.cache import PromptCache
from orchestrator.sim.config import SimConfig
from orchestrator.sim.tokens import count_request, segments
from orchestrator.sim.writer import Chance, reply

_ALPHABET = string.ascii_letters + string.digits
_ROLES = ("user", "assistant")
#: Beta requests (``?beta=true``, what the ``claude`` CLI sends) may also carry
#: ``system`` messages between the turns (the CLI's budget notes).
_BETA_ROLES = ("user", "assistant", "system")


def new_id(prefix: str) -> str:
    """An id in the API's style, e.g. ``msg_01AbC...``."""
    return prefix + "01" + "".join(secrets.choice(_ALPHABET) for _ in range(22))


def check_count_request(body: Any, *, beta: bool = False) -> str | None:
    """Why ``body`` is not a valid ``count_tokens`` request, or None."""
    if not isinstance(body, Mapping):
        return "request body must be a JSON object"
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return "model: Field required"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required (a non-empty list)"
    for i, message in enumerate(messages):
        if not isinstance(message, Mapping) or message.get("role") not in (_BETA_ROLES if beta else _ROLES):
            return f"messages.{i}.role: Input should be 'user' or 'assistant'"
        if not isinstance(message.get("content"), str | list):
            return f"messages.{i}.content: Field required"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a string or a list of text blocks"
    return None


def check_message_request(body: Any, *, beta: bool = False) -> str | None:
    """Why ``body`` is not a valid ``POST /v1/messages`` request, or None."""
    problem = check_count_request(body, beta=beta)
    if problem:
        return problem
    max_tokens = body.get("max_tokens")
    if max_tokens is None:
        return "max_tokens: Field required"
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be a positive integer"
    return None


def count_tokens(body: Mapping[str, Any], config: SimConfig) -> int:
    return count_request(body, config.chars_per_token)


def input_cost(body: Mapping[str, Any], config: SimConfig, cache: PromptCache) -> int:
    """Input tokens that count against an input-tokens-per-minute limit (cache reads don't)."""
    segs = segments(body, config.chars_per_token)
    return sum(s.tokens for s in segs) - cache.peek(str(body["model"]), segs).read


def create_message(
    body: Mapping[str, Any],
    config: SimConfig,
    cache: PromptCache,
    chance: Chance,
    *,
    service_tier: str = "standard",
) -> dict[str, Any]:
    """The assistant message for a validated request, its usage billed through ``cache``.

    A request offering the Read and Write tools is answered by the fake agent
    (:mod:`orchestrator.sim.agent`: tool-use turns), any other by the fake writer.
    """
    model = str(body["model"])
    split = cache.use(model, segments(body, config.chars_per_token))
    content: list[dict[str, Any]]
    stop_sequence: str | None = None
    if is_agent_request(body):
        step = agent_reply(body, config, chance)
        content, stop_reason, output_tokens = step.content, step.stop_reason, step.output_tokens
    else:
        answer = reply(body, config, chance)
        content = [{"type": "text", "text": answer.text}]
        stop_reason, stop_sequence, output_tokens = answer.stop_reason, answer.stop_sequence, answer.output_tokens
    return {
        "id": new_id("msg_"),
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": stop_sequence,
        "usage": {
            "input_tokens": split.input_tokens,
            "output_tokens": output_tokens,
            "cache_creation_input_tokens": split.creation,
            "cache_read_input_tokens": split.read,
            "cache_creation": {
                "ephemeral_5m_input_tokens": split.creation_5m,
                "ephemeral_1h_input_tokens": split.creation_1h,
            },
            "service_tier": service_tier,
        },
    }


def sse_events(message: Mapping[str, Any], chunk_chars: int = 200) -> list[tuple[str, dict[str, Any]]]:
    """``message`` as the (event name, data) pairs a streaming request receives.

    Text blocks arrive as ``text_delta`` chunks; tool-use blocks start with an
    empty ``input`` and arrive as ``input_json_delta`` chunks of its JSON.
    """
    usage = dict(message["usage"])
    start = {**message, "content": [], "stop_reason": None, "stop_sequence": None}
    start["usage"] = {**usage, "output_tokens": 1}
    events: list[tuple[str, dict[str, Any]]] = [("message_start", {"type": "message_start", "message": start})]
    for index, block in enumerate(message["content"]):
        block_events = _block_events(index, block, chunk_chars)
        if index == 0:
            block_events.insert(1, ("ping", {"type": "ping"}))
        events += block_events
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": message["stop_sequence"]}
    end_usage = {"output_tokens": usage["output_tokens"]}
    events += [
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": end_usage}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


def _block_events(index: int, block: Mapping[str, Any], chunk_chars: int) -> list[tuple[str, dict[str, Any]]]:
    if block.get("type") == "tool_use":
        head: dict[str, Any] = {**block, "input": {}}
        payload, kind, field = json.dumps(block["input"], ensure_ascii=False), "input_json_delta", "partial_json"
    else:
        head, payload, kind, field = {"type": "text", "text": ""}, str(block.get("text", "")), "text_delta", "text"
    events: list[tuple[str, dict[str, Any]]] = [
        ("content_block_start", {"type": "content_block_start", "index": index, "content_block": head})
    ]
    for i in range(0, len(payload), chunk_chars):
        delta = {"type": kind, field: payload[i : i + chunk_chars]}
        events.append(("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}))
    events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    return events


def sse_bytes(events: list[tuple[str, dict[str, Any]]]) -> bytes:
    """Server-sent events on the wire."""
    return "".join(
        f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n" for name, data in events
    ).encode()


def sse_stream(message: Mapping[str, Any], chunk_chars: int = 200) -> bytes:
    """``message`` as the server-sent events a streaming request receives."""
    return sse_bytes(sse_events(message, chunk_chars))
