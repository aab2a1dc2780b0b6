"""Reading the agent's ``stream-json`` output: one JSON event per line (pure).

What we keep from the stream: the session id (from the ``system``/``init``
event, so a killed agent's session is still known), when that event came
(the agent's start-up time), every file path the agent wrote (its
``tool_use`` blocks, less those whose ``tool_result`` says the tool refused:
the evidence for a stray write; a call cut off before its result counts as
written), and the
final ``result`` event (``subtype``, ``is_error``, ``api_error_status``,
``num_turns``, ``total_cost_usd``, ``usage``, ``modelUsage``, ...).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from orchestrator.models import Usage

#: Tools that write files (only Write is offered, but a rule must not depend on that).
WRITING_TOOLS = frozenset({"Write", "Edit", "MultiEdit", "NotebookEdit"})


@dataclass
class AgentRun:
    """What one agent run showed on its event stream."""

    session_id: str | None = None
    startup_s: float | None = None  # from spawn to the ``init`` event
    #: file_path of each writing tool call, by tool_use id; dropped when its result is an error
    pending_writes: dict[str, str] = field(default_factory=dict)
    done_writes: list[str] = field(default_factory=list)
    refused_writes: list[str] = field(default_factory=list)
    result: dict[str, Any] | None = None
    events: int = 0
    model: str | None = None
    unreadable: int = 0  # lines that were not JSON objects

    def feed(self, line: bytes | str, elapsed_s: float) -> None:
        """Take one line of output, ``elapsed_s`` after the agent started."""
        text = line.decode("utf-8", "replace") if isinstance(line, bytes) else line
        if not text.strip():
            return
        try:
            event = json.loads(text)
        except ValueError:
            self.unreadable += 1
            return
        if not isinstance(event, dict):
            self.unreadable += 1
            return
        self.events += 1
        self._take(event, elapsed_s)

    def _take(self, event: dict[str, Any], elapsed_s: float) -> None:
        kind = event.get("type")
        if isinstance(event.get("session_id"), str):
            self.session_id = event["session_id"]
        if kind == "system" and event.get("subtype") == "init":
            self.startup_s = elapsed_s if self.startup_s is None else self.startup_s
            self.model = event.get("model") if isinstance(event.get("model"), str) else None
        elif kind == "assistant":
            self.pending_writes.update(_written_paths(event.get("message")))
        elif kind == "user":
            for use_id, failed in _tool_results(event.get("message")):
                path = self.pending_writes.pop(use_id, None)
                if path is not None:
                    (self.refused_writes if failed else self.done_writes).append(path)
        elif kind == "result":
            self.result = event

    @property
    def writes(self) -> list[str]:
        """Paths the agent wrote, or may have written (a call with no result yet)."""
        return [*self.done_writes, *self.pending_writes.values()]


def _blocks(message: Any) -> list[dict[str, Any]]:
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        return []
    return [b for b in message["content"] if isinstance(b, dict)]


def _written_paths(message: Any) -> dict[str, str]:
    paths: dict[str, str] = {}
    for block in _blocks(message):
        if block.get("type") == "tool_use" and block.get("name") in WRITING_TOOLS:
            tool_input = block.get("input")
            if not isinstance(tool_input, dict):
                continue
            path = tool_input.get("file_path") or tool_input.get("notebook_path")
            if isinstance(path, str) and path:
                paths[str(block.get("id"))] = path
    return paths


def _tool_results(message: Any) -> list[tuple[str, bool]]:
    return [
        (str(block.get("tool_use_id")), bool(block.get("is_error")))
        for block in _blocks(message)
        if block.get("type") == "tool_result"
    ]


def result_usage(result: dict[str, Any]) -> Usage:
    """Tokens of the whole run: the sum over ``modelUsage`` (every turn, every model), else ``usage``."""
    by_model = result.get("modelUsage")
    if isinstance(by_model, dict) and by_model:
        total = Usage()
        for entry in by_model.values():
            if isinstance(entry, dict):
                total += Usage(
                    _int(entry.get("inputTokens")),
                    _int(entry.get("outputTokens")),
                    _int(entry.get("cacheCreationInputTokens")),
                    _int(entry.get("cacheReadInputTokens")),
                )
        return total
    usage = result.get("usage")
    return Usage.from_dict(usage) if isinstance(usage, dict) else Usage()


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0
