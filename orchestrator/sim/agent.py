"""The fake model as a headless agent: tool-use turns with Claude Code's Read and Write tools.

A request that offers tools named ``Read`` and ``Write`` (what the ``claude``
CLI sends when started with ``--tools Read,Write``) is answered as an agent
would: read the format reference with ``Read``, write the document with one
``Write`` call, then say it is done. Each answer is one step, decided from the
conversation so far (the CLI sends the whole conversation every time):

1. no successful read of the reference yet: ``Read`` it;
2. no successful write since the last human turn: ``Write`` the document
   (after a refused write, ``Read`` the output file first, as the CLI asks
   before overwriting a file);
3. otherwise: a short text, ``end_turn``.

The row comes from the prompt that
:func:`orchestrator.providers.claude_code.request.agent_prompt` writes: the
resolved DISPATCH prompt, then ``Format reference (absolute path): ...`` and
``Output file (absolute path): ...`` lines. The document is
:func:`orchestrator.sim.writer.write`'s, so first drafts carry the same
flaws (``pbad_enum`` and friends) and repairs (a second human turn) are clean.
``pstray_write`` makes a first draft also write a file beside the output.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import PurePosixPath
from typing import Any

from orchestrator.sim.config import SimConfig
from orchestrator.sim.reference import parse_reference, read_brief
from orchestrator.sim.tokens import count_text
from orchestrator.sim.writer import Chance, choose_flaws, write

REFERENCE_LINE = re.compile(r"^Format reference \(absolute path\): (.+)$", re.M)
OUTPUT_LINE = re.compile(r"^Output file \(absolute path\): (.+)$", re.M)
_REMINDER = "<system-reminder>"
#: ``cat -n`` style line numbers of the Read tool's result ("     1\t..." or "1→...").
_NUMBERED = re.compile(r"^\s*\d+(?:\t|\u2192)", re.M)
#: The file name a stray write uses (beside the row's output file).
STRAY_PREFIX = "stray-"


@dataclass(frozen=True)
class AgentReply:
    """One step of the agent: content blocks and why it stopped."""

    content: list[dict[str, Any]]
    stop_reason: str
    output_tokens: int


@dataclass
class _State:
    """What the conversation shows so far."""

    human_turns: int = 0
    first_prompt: str = ""
    reference_text: str | None = None
    reference_failed: bool = False
    written_since_human: bool = False
    write_refused: bool = False
    read_output_since_refusal: bool = False
    stray_written: bool = False
    tool_uses: int = 0


def is_agent_request(body: Mapping[str, Any]) -> bool:
    """Whether ``body`` offers the Read and Write tools (a Claude Code agent's request)."""
    tools = body.get("tools")
    if not isinstance(tools, list):
        return False
    names = {t.get("name") for t in tools if isinstance(t, Mapping)}
    return {"Read", "Write"} <= names


def agent_reply(body: Mapping[str, Any], config: SimConfig, chance: Chance) -> AgentReply:
    """The next step of the fake agent for this conversation."""
    reference_path, output_path = _paths(body)
    state = _read_state(body, reference_path, output_path)
    if output_path is None:
        return _text("I was not told where to write the output file.", config)
    if state.reference_text is None and not state.reference_failed and reference_path:
        return _tool("Read", {"file_path": reference_path}, state, config)
    if state.written_since_human:
        return _text(f"Wrote {output_path}.", config)
    if state.write_refused and not state.read_output_since_refusal:
        return _tool("Read", {"file_path": output_path}, state, config)
    brief = read_brief({"messages": [{"role": "user", "content": _unwrapped(state.first_prompt)}]})
    reference = parse_reference(state.reference_text) if state.reference_text else None
    brief = replace(brief, reference=reference, user_turns=max(1, state.human_turns))
    if brief.user_turns == 1 and not state.stray_written and chance(config.pstray_write):
        stray = str(PurePosixPath(output_path).with_name(STRAY_PREFIX + PurePosixPath(output_path).name))
        return _tool("Write", {"file_path": stray, "content": "notes\n"}, state, config)
    text = write(brief, config.seed, choose_flaws(brief, config, chance))
    return _tool("Write", {"file_path": output_path, "content": text}, state, config)


def _paths(body: Mapping[str, Any]) -> tuple[str | None, str | None]:
    text = "\n".join(_human_texts(body))
    ref = REFERENCE_LINE.search(text)
    out = OUTPUT_LINE.search(text)
    return (ref.group(1).strip() if ref else None, out.group(1).strip() if out else None)


def _human_texts(body: Mapping[str, Any]) -> list[str]:
    """Text blocks of user messages that a person (or the orchestrator) wrote."""
    texts: list[str] = []
    for message in body.get("messages") or []:
        if isinstance(message, Mapping) and message.get("role") == "user":
            texts.extend(t for t in _blocks_text(message.get("content")) if not t.lstrip().startswith(_REMINDER))
    return texts


def _blocks_text(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if not isinstance(content, list):
        return []
    return [str(b.get("text", "")) for b in content if isinstance(b, Mapping) and b.get("type") == "text"]


def _read_state(body: Mapping[str, Any], reference_path: str | None, output_path: str | None) -> _State:
    state = _State()
    calls: dict[str, tuple[str, str]] = {}  # tool_use id -> (tool name, file_path)
    for message in body.get("messages") or []:
        if not isinstance(message, Mapping):
            continue
        content = message.get("content")
        blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
        if message.get("role") == "assistant":
            for block in blocks:
                if isinstance(block, Mapping) and block.get("type") == "tool_use":
                    state.tool_uses += 1
                    tool_input = block.get("input")
                    path = str(tool_input.get("file_path", "")) if isinstance(tool_input, Mapping) else ""
                    calls[str(block.get("id"))] = (str(block.get("name")), path)
                    if block.get("name") == "Write" and path != output_path:
                        state.stray_written = True
            continue
        if message.get("role") != "user":
            continue
        humans = [t for t in _blocks_text(blocks) if not t.lstrip().startswith(_REMINDER)]
        if humans:
            state.human_turns += 1
            state.first_prompt = state.first_prompt or "\n".join(humans)
            state.written_since_human = False
            state.write_refused = False
        for block in blocks:
            if isinstance(block, Mapping) and block.get("type") == "tool_result":
                _apply_result(state, calls.get(str(block.get("tool_use_id")), ("", "")), block,
                              reference_path, output_path)
    return state


def _apply_result(state: _State, call: tuple[str, str], block: Mapping[str, Any],
                  reference_path: str | None, output_path: str | None) -> None:
    name, path = call
    failed = bool(block.get("is_error"))
    if name == "Read" and path == reference_path:
        if failed:
            state.reference_failed = True
        else:
            state.reference_text = _strip_line_numbers("\n".join(_result_texts(block.get("content"))))
    elif name == "Read" and path == output_path:
        state.read_output_since_refusal = True
    elif name == "Write" and path == output_path:
        if failed:
            state.write_refused, state.read_output_since_refusal = True, False
        else:
            state.written_since_human = True


def _result_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return _blocks_text(content)


def _strip_line_numbers(text: str) -> str:
    """The file's own text from the Read tool's numbered listing (reminders dropped)."""
    text = re.sub(r"<system-reminder>.*?</system-reminder>", "", text, flags=re.S)
    lines = text.split("\n")
    if not any(_NUMBERED.match(line) for line in lines):
        return text
    return "\n".join(_NUMBERED.sub("", line, count=1) for line in lines if _NUMBERED.match(line))


def _unwrapped(prompt: str) -> str:
    """The prompt's first paragraph on one line (the reader of titles works per line)."""
    first = prompt.split("\n\n", 1)[0]
    return " ".join(first.split("\n"))


def _tool(name: str, tool_input: dict[str, Any], state: _State, config: SimConfig) -> AgentReply:
    block = {"type": "tool_use", "id": f"toolu_sim{state.tool_uses + 1:04d}", "name": name, "input": tool_input}
    tokens = count_text(json.dumps(tool_input), config.chars_per_token) + 10
    return AgentReply([block], "tool_use", tokens)


def _text(text: str, config: SimConfig) -> AgentReply:
    return AgentReply([{"type": "text", "text": text}], "end_turn", count_text(text, config.chars_per_token))
