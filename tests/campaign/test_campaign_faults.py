"""The fault sweep's fast subset: runs under every kind of fault, the campaign's invariants after each.

429, 529, 500 and dropped connections are injected together into one
16-row run against the simulator, timeouts into a second, truncated and
never-valid drafts into a third. Afterwards: every row complete with a
valid output or pending with a reason in Run Notes; the ledger's tokens
equal what the simulator billed (timeouts aside: the simulator bills a call
the client gave up on, as the API may); no partial or temporary file; no
row called more often than its attempts allow. ``bench/campaign.py`` sweeps
each kind on its own at several rates (``campaignkit.FAULT_KINDS``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from campaignkit import fault_run

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX processes")
#: rows per run here (the full sweep runs 36-row plans)
ROWS = 16


def test_retryable_errors_together_lose_nothing_and_bill_exactly(tmp_path: Path) -> None:
    done = fault_run(tmp_path / "p", "429", 0.15, rows=ROWS, extra="p529=0.15,p500=0.15,pdisconnect=0.15")
    assert done.found.problems == [], done.found.problems[:10]
    assert all(done.injected.get(name, 0) >= 2 for name in ("p429", "p529", "p500", "pdisconnect")), done.injected
    assert done.code == 0 and done.found.complete == ROWS
    assert done.found.ledger_answered == done.found.billed, "the ledger is the bill"


def test_timeouts_are_retried_and_every_row_completes(tmp_path: Path) -> None:
    done = fault_run(tmp_path / "p", "timeout", 0.3, rows=ROWS)
    assert done.found.problems == [], done.found.problems[:10]
    assert done.given_up >= 3, "calls timed out and were retried"
    assert done.code == 0 and done.found.complete == ROWS


def test_truncated_and_never_valid_drafts_leave_rows_pending_with_a_reason(tmp_path: Path) -> None:
    done = fault_run(tmp_path / "p", "never-valid", 0.25, rows=ROWS, extra="ptruncated=0.3")
    assert done.found.problems == [], done.found.problems[:10]
    assert done.found.pending >= 1 and done.code == 1, "rows that never validate stay pending, with a reason"
    assert done.found.complete >= ROWS // 2
