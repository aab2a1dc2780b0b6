"""Helpers for the simulator tests: a reference, request builders, document checks."""

from __future__ import annotations

import re
from typing import Any

import anthropic
import yaml

from orchestrator.prompts import SYSTEM_INSTRUCTIONS
from orchestrator.sim.server import SimServer

REFERENCE = """\
---
term: Idempotency
category: Reliability
tags: [distributed-systems, reliability, api-design]
---

## Definition

An operation is idempotent if performing it more than once produces the same effect as \
performing it exactly once. A client can safely retry an idempotent request after a timeout \
without worrying about duplicating the underlying effect.

## Details

| Aspect | Value |
|--------|-------|
| Typical mechanism | A client-supplied idempotency key the server deduplicates against |
| Common home | Payment APIs, where a retried charge must not bill twice |
| What it doesn't guarantee | That the response is identical on retry, only that the effect is |

## Related Terms

Exactly-once delivery tries to guarantee an operation happens once at the transport level; \
idempotency reaches the same practical outcome by making repeats harmless instead of \
preventing them.
"""

CATEGORIES = ("Consistency", "Concurrency", "Scalability", "Reliability")
RULES = (
    "Follow these content rules: Every output needs front matter: term, category, tags; "
    f"category must be one of: {', '.join(CATEGORIES)}; "
    "Include Definition, Details, and Related Terms sections, in that order; "
    "Blank line before every markdown table."
)
SECTIONS = ["Definition", "Details", "Related Terms"]
FAST = {"batch_delay_ms": 50}


def shared_prefix(reference: str = REFERENCE) -> str:
    """The cacheable part, as :func:`orchestrator.prompts.shared_prefix` writes it."""
    return (
        "Read output/idempotency.md for structure, style, and front matter format.\n\n"
        f'<format_reference path="output/idempotency.md">\n{reference.rstrip()}\n'
        f"</format_reference>\n\n{RULES}"
    )


def row_text(title: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f"Produce output covering {title}.\nWrite the output to output/{slug}.md."


def params(
    title: str = "Quorum",
    *,
    repair: list[str] | None = None,
    model: str = "claude-haiku-5-5",
    max_tokens: int = 4000,
    reference: str = REFERENCE,
) -> dict[str, Any]:
    """Keyword arguments for ``messages.create``, shaped like the Anthropic provider's."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": row_text(title)}]
    if repair is not None:
        complaints = "\n".join(f"- {c}" for c in repair)
        messages += [
            {"role": "assistant", "content": "---\nterm: draft\n---\n"},
            {"role": "user", "content": f"The file you returned failed validation:\n{complaints}"},
        ]
    return {
        "model": model,
        "max_tokens": max_tokens,
        "system": [
            {"type": "text", "text": SYSTEM_INSTRUCTIONS},
            {
                "type": "text",
                "text": shared_prefix(reference),
                "cache_control": {"type": "ephemeral"},
            },
        ],
        "messages": messages,
    }


def split_document(text: str) -> tuple[dict[str, Any], list[str], str]:
    """Front matter (parsed), the ``## `` headings in order, and the body."""
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    assert match, f"no front matter at the start:\n{text[:200]}"
    front = yaml.safe_load(match.group(1))
    headings = re.findall(r"^## (.+)$", match.group(2), re.MULTILINE)
    return front, headings, match.group(2)


#: clients made by :func:`client`, closed by the ``start_sim`` fixture (no leaked sockets)
OPEN_CLIENTS: list[anthropic.Anthropic] = []


def client(server: SimServer, key: str = "sk-test", **options: Any) -> anthropic.Anthropic:
    api = anthropic.Anthropic(api_key=key, base_url=server.url, **{"max_retries": 0, **options})
    OPEN_CLIENTS.append(api)
    return api


def close_clients() -> None:
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


def text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")
