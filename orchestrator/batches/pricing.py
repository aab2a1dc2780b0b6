"""What a batch result costs: the batch discount, with cache writes at the 1-hour price.

Batch requests mark the shared prefix for the 1-hour cache (a batch can take
longer than five minutes), so every cache write they report is a 1-hour write,
billed at ``cache_write_1h``; :meth:`ModelInfo.cost` assumes 5-minute writes.
"""

from __future__ import annotations

from orchestrator.models import ModelInfo, Usage


def batch_cost(model: ModelInfo, usage: Usage) -> float:
    """Dollars for ``usage`` answered in a Message Batch."""
    dollars = (
        usage.input_tokens * model.input
        + usage.output_tokens * model.output
        + usage.cache_creation_input_tokens * model.cache_write_1h
        + usage.cache_read_input_tokens * model.cache_read
    ) / 1_000_000
    return dollars * model.batch_discount
