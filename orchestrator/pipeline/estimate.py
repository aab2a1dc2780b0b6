"""Tokens and dollars PROCESS is about to spend, shown before anything is spent.

Input tokens: the provider's count-tokens endpoint, asked once per model for
the first item's full request; every other item's local estimate (characters
/ 4, plus 3 per message) is scaled by that count's ratio to its own local
estimate. Without a count-tokens endpoint (or when it refuses the request)
the local estimate is used as is; when no connection can be made at all,
:class:`~orchestrator.errors.ConnectionFailed` is raised (see :func:`_count`).

Output tokens: the average output of the responses already in the batch, or,
for a new batch, the format reference's length (the outputs copy its shape).

Prompt caching: the shared prefix (instructions, format reference, content
rules) is assumed cached only when it reaches :data:`CACHE_MIN_TOKENS` (the
largest per-model minimum; below a model's minimum nothing is cached, so the
estimate can only err high). Then the first ``min(workers, items)`` requests
are counted as cache writes (concurrent first calls all write) and the rest
as cache reads. Retries and repairs are not included: the /batch-pipeline command's note to add
20-30% says so.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from typing import Any

from orchestrator.batches.pricing import batch_cost
from orchestrator.errors import ConnectionFailed, ProviderError
from orchestrator.models import ModelInfo, ModelTable, Usage
from orchestrator.pipeline.stages.selection import WorkItem
from orchestrator.pipeline.store.checkpoints import ItemFiles, read_json
from orchestrator.pipeline.store.records import ResponseRecord
from orchestrator.providers.base import Provider

CHARS_PER_TOKEN = 4.0
MESSAGE_OVERHEAD = 3
CACHE_MIN_TOKENS = 4096
#: a count that cannot connect is tried this many more times, this far apart, before the run stops
CONNECT_RETRIES = 1
CONNECT_PAUSE_S = 0.5
#: responses cut off short say nothing about a complete output's length
_CUT_OFF = ("max_tokens", "model_context_window_exceeded")


def local_tokens(text: str) -> int:
    """The local estimate: one token per 4 characters, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def local_request_tokens(item: WorkItem) -> int:
    req = item.request
    turns = sum(local_tokens(t.text) + MESSAGE_OVERHEAD for t in item.job().request.turns)
    history = sum(local_tokens(t.text) + MESSAGE_OVERHEAD for t in item.history)
    return local_tokens(req.system) + local_tokens(req.shared) + turns + history


def local_prefix_tokens(item: WorkItem) -> int:
    return local_tokens(item.request.system) + local_tokens(item.request.shared)


@dataclass
class ModelEstimate:
    """One model's share: its items, token split and dollars."""

    info: ModelInfo
    items: int = 0
    usage: Usage = field(default_factory=Usage)
    prefix_tokens: int = 0
    cached: bool = False
    batch: bool = False

    @property
    def cost(self) -> float:
        return self.price(self.usage, batch=self.batch)

    def price(self, usage: Usage, *, batch: bool) -> float:
        """``usage`` online (5-minute cache) or as Message Batches (1-hour cache, the discount)."""
        return batch_cost(self.info, usage) if batch else self.info.cost(usage)

    def part(self, kind: str) -> float:
        u = self.usage
        parts = {
            "input": Usage(input_tokens=u.input_tokens),
            "cache_write": Usage(cache_creation_input_tokens=u.cache_creation_input_tokens),
            "cache_read": Usage(cache_read_input_tokens=u.cache_read_input_tokens),
            "output": Usage(output_tokens=u.output_tokens),
        }
        return self.price(parts[kind], batch=self.batch)


@dataclass
class Estimate:
    batch_id: str
    items: int
    input_tokens: int
    output_tokens: int
    models: list[ModelEstimate]
    input_method: str
    output_method: str
    prices_as_of: str
    prices_source: str
    workers: int
    reused: int = 0
    not_acquired: int = 0  # pending rows not in the batch yet: not counted

    @property
    def cost(self) -> float:
        return sum(m.cost for m in self.models)

    @property
    def tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    def as_dict(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "items": self.items,
            "reused_responses": self.reused,
            "not_acquired": self.not_acquired,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "input_method": self.input_method,
            "output_method": self.output_method,
            "cost_usd": round(self.cost, 6),
            "models": [
                {
                    "model": m.info.alias,
                    "id": m.info.id,
                    "items": m.items,
                    "usage": m.usage.as_dict(),
                    "prefix_tokens": m.prefix_tokens,
                    "cached": m.cached,
                    "cost_usd": round(m.cost, 6),
                }
                for m in self.models
            ],
            "prices": {"as_of": self.prices_as_of, "source": self.prices_source},
            "note": "Add 20-30% buffer for retries.",
        }


async def _count(provider: Provider, item: WorkItem) -> int | None:
    """The provider's count; a connection that cannot be made is tried again once, then raised.

    The count is the run's first request: when it cannot connect (refused,
    DNS, TLS, a wrong ``ANTHROPIC_BASE_URL``) no paid call could either, so
    the run stops here instead of falling back to the local estimate.
    """
    for attempt in range(1 + CONNECT_RETRIES):
        try:
            return await provider.count_tokens(item.job().request)
        except ConnectionFailed:
            if attempt == CONNECT_RETRIES:
                raise
            await asyncio.sleep(CONNECT_PAUSE_S)
        except ProviderError:
            return None
    return None


async def _ratio(item: WorkItem, provider: Provider | None) -> float | None:
    """Counted / local tokens of one full request, or None without a usable count."""
    if provider is None:
        return None
    counted = await _count(provider, item)
    local = local_request_tokens(item)
    return counted / local if counted and local else None


def _output_per_item(items: list[ItemFiles], reference_text: str) -> tuple[float, str, bool]:
    """Output tokens per item, how they were found, and whether they are a local estimate."""
    outputs = []
    for files in items:
        data = read_json(files.response_meta)
        meta = ResponseRecord.from_json(data) if data is not None else None
        if meta is not None and meta.stop_reason not in _CUT_OFF:
            outputs.append(meta.usage.output_tokens)
    outputs = [o for o in outputs if o > 0]
    if outputs:
        return (
            sum(outputs) / len(outputs),
            f"average of {len(outputs)} earlier response(s)",
            False,
        )
    return (
        float(local_tokens(reference_text)),
        "from the format reference's length",
        True,
    )


async def estimate(
    batch_id: str,
    work: list[WorkItem],
    batch_items: list[ItemFiles],
    reference_text: str,
    table: ModelTable,
    provider: Provider | None,
    *,
    workers: int,
    reused: int = 0,
) -> Estimate:
    """The estimate for dispatching ``work`` (see the module docstring)."""
    by_model: dict[str, list[WorkItem]] = {}
    for item in work:
        by_model.setdefault(item.model.alias, []).append(item)
    output_each, output_method, scale = _output_per_item(batch_items, reference_text)
    counted = False
    models: list[ModelEstimate] = []
    for items in by_model.values():
        ratio = await _ratio(items[0], provider)
        counted = counted or ratio is not None
        each = output_each * (ratio or 1.0) if scale else output_each
        models.append(_model_estimate(items, ratio or 1.0, each, workers, provider))
    input_method = "counted by the provider's count-tokens endpoint" if counted else "local estimate: characters / 4"
    return Estimate(
        batch_id=batch_id,
        items=len(work),
        input_tokens=sum(m.usage.total_input for m in models),
        output_tokens=sum(m.usage.output_tokens for m in models),
        models=models,
        input_method=input_method,
        output_method=output_method,
        prices_as_of=table.prices_as_of,
        prices_source=table.prices_source,
        workers=workers,
        reused=reused,
    )


def _model_estimate(
    items: list[WorkItem], ratio: float, output_each: float, workers: int, provider: Provider | None
) -> ModelEstimate:
    info = items[0].model
    total_in = sum(round(local_request_tokens(i) * ratio) for i in items)
    prefix = round(local_prefix_tokens(items[0]) * ratio)
    output = round(output_each * len(items))
    est = ModelEstimate(info, len(items), prefix_tokens=prefix, batch=bool(provider and provider.batch_pricing))
    if provider is not None and provider.runs_agents:
        est.usage = _agent_usage(items, ratio, round(output_each))
        est.cached = True
        return est
    if prefix >= CACHE_MIN_TOKENS and len(items) > 1:
        writes = min(max(1, workers), len(items))
        reads = len(items) - writes
        est.cached = True
        est.usage = Usage(
            input_tokens=total_in - prefix * len(items),
            output_tokens=output,
            cache_creation_input_tokens=prefix * writes,
            cache_read_input_tokens=prefix * reads,
        )
    else:
        est.usage = Usage(input_tokens=total_in, output_tokens=output)
    return est


def _agent_usage(items: list[WorkItem], ratio: float, output_each: int) -> Usage:
    """What agents bill for ``items``: their own system prompt and tools, a Read of the reference, a Write.

    The per-row figure was measured against the simulator (docs/providers.md);
    the first row also writes the agent's fixed prefix to the cache.
    """
    from orchestrator.providers.claude_code.overhead import FIXED_PREFIX_TOKENS, agent_row_usage

    reference = round(local_tokens(items[0].request.shared) * ratio)
    total = Usage(cache_creation_input_tokens=FIXED_PREFIX_TOKENS)
    for item in items:
        total += agent_row_usage(reference, output_each, round(local_tokens(item.request.row) * ratio))
    return total
