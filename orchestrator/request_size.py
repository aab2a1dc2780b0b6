"""Refuse a request that cannot fit its model's context window, before it is sent.

A request larger than the context window can never succeed: the API rejects
it, or the draft comes back truncated, and either way it is paid for. So the
size of every request is checked first, from the same local estimate
``orchestrate estimate`` starts from (one token per four characters, three per
message), or from a provider's count when the caller has one. A request over
the window is bad input (exit 2) naming the row, the size and the limit.

Pure: no I/O. ``orchestrate check`` calls :func:`reference_problems` for the
part every request shares (a 50 MB reference is refused there); the pipeline
calls :func:`check_request` on each row's request before any paid call.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import Problem, RequestTooLarge
from orchestrator.models import ModelInfo, ModelTable
from orchestrator.plan.model import Plan, Row
from orchestrator.prompts import SYSTEM_INSTRUCTIONS, RowRequest, build_request, shared_prefix

CHARS_PER_TOKEN = 4.0
MESSAGE_OVERHEAD = 3


def text_tokens(text: str) -> int:
    """The local estimate for ``text``: one token per four characters, rounded up."""
    return math.ceil(len(text) / CHARS_PER_TOKEN) if text else 0


def request_tokens(request: RowRequest, history: Iterable[str] = ()) -> int:
    """Estimated input tokens of ``request`` (plus any earlier turns, e.g. a repair's)."""
    turns = [request.row, *history]
    return (text_tokens(request.system) + text_tokens(request.shared)
            + sum(text_tokens(t) + MESSAGE_OVERHEAD for t in turns))


@dataclass(frozen=True)
class RequestSize:
    """One request's estimated size against its model's window."""

    tokens: int
    model: ModelInfo
    output_tokens: int = 0  # reserved for the reply, when the caller wants room for it

    @property
    def limit(self) -> int:
        return self.model.context_tokens

    @property
    def fits(self) -> bool:
        return self.tokens + self.output_tokens <= self.limit

    def describe(self) -> str:
        reserved = f" with {self.output_tokens:,} reserved for the reply" if self.output_tokens else ""
        return (f"about {self.tokens:,} input tokens, over the {self.limit:,}-token context window "
                f"of {self.model.id}{reserved}")


def check_request(request: RowRequest, model: ModelInfo, row: Row, plan_path: Path | str, *,
                  tokens: int | None = None, output_tokens: int = 0) -> None:
    """Raise :class:`RequestTooLarge` (exit 2) if ``row``'s request would not fit ``model``.

    ``tokens`` is a provider's count of the request, when known (otherwise the
    local estimate is used); ``output_tokens`` reserves room for the reply.
    """
    size = RequestSize(request_tokens(request) if tokens is None else tokens, model, output_tokens)
    if not size.fits:
        raise RequestTooLarge(
            f"the request for row #{row.id} ('{row.title}', Phase {row.phase}) is {size.describe()}",
            path=plan_path,
            line=row.line,
            hint=_HINT,
        )


_HINT = ("nothing was sent: shorten the format reference or the content rules (every request carries them), "
         "or use a model with a larger window (context_tokens in orchestrate.toml, docs/models.md)")


def reference_problems(plan: Plan, reference_text: str, models: ModelTable) -> list[Problem]:
    """One problem per model whose rows' requests cannot fit, located at the Format Reference line.

    The shared part (instructions, reference, content rules) is measured
    once; each row adds only its own sentences, so this stays linear in the
    rows. Rows whose model is unknown are left to the model check.
    """
    shared = text_tokens(SYSTEM_INSTRUCTIONS) + text_tokens(shared_prefix(plan, reference_text))
    worst: dict[str, tuple[int, Row, ModelInfo]] = {}
    for row in plan.rows():
        model = models.get(row.model) if row.model else None
        if model is None:
            continue
        own = build_request(plan, row, "").row
        tokens = shared + text_tokens(own) + MESSAGE_OVERHEAD
        if model.id not in worst or tokens > worst[model.id][0]:
            worst[model.id] = (tokens, row, model)
    line = plan.format_reference.line if plan.format_reference else None
    return [
        Problem(plan.path, line,
                f"the format reference is too large for {model.id}: the request for row #{row.id} "
                f"would be {RequestSize(tokens, model).describe()}", _HINT)
        for tokens, row, model in worst.values()
        if not RequestSize(tokens, model).fits
    ]
