"""Message Batches: rows sent as batches at half the price, never submitted twice.

The driver calls :func:`run_batches` with :class:`BatchJob`\\s, a
:class:`~orchestrator.batches.api.BatchAPI` (the ``anthropic-batch``
provider), its :class:`BatchHooks` and the batch folder. See
:mod:`orchestrator.batches.runner` for what happens, and docs/providers.md.
"""

from orchestrator.batches.jobs import BatchHooks, BatchJob, BatchProgress, BatchRunReport, BatchRunSettings
from orchestrator.batches.runner import run_batches

__all__ = ["BatchHooks", "BatchJob", "BatchProgress", "BatchRunReport", "BatchRunSettings", "run_batches"]
