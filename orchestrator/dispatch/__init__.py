"""The async dispatcher: concurrency, rate limits, retries, repairs, the usage ledger.

The pipeline builds :class:`Job`\\s, implements :class:`Hooks`, and calls
:func:`dispatch`; everything else here is machinery behind that call.
"""

from orchestrator.dispatch.engine import dispatch
from orchestrator.dispatch.events import DispatchEvent, EventKind
from orchestrator.dispatch.jobs import (
    TRUNCATED_FAILURE,
    DispatchReport,
    DispatchSettings,
    Hooks,
    Job,
    JobOutcome,
    Verdict,
)
from orchestrator.dispatch.ledger import Ledger, LedgerEntry

__all__ = [
    "TRUNCATED_FAILURE",
    "DispatchEvent",
    "DispatchReport",
    "DispatchSettings",
    "EventKind",
    "Hooks",
    "Job",
    "JobOutcome",
    "Ledger",
    "LedgerEntry",
    "Verdict",
    "dispatch",
]
