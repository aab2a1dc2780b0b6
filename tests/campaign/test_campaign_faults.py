"""The fault sweep's fast subset: one run per kind of fault, the campaign's invariants after each.

Each kind (429, 529, 500, dropped connection, timeout, truncated draft, a
draft that never validates) is injected at a high rate into a 36-row run
against the simulator. Afterwards: every row complete with a valid output
or pending with a reason in Run Notes; the ledger's tokens equal what the
simulator billed (timeouts aside: the simulator bills a call the client
gave up on, as the API may); no partial or temporary file; no row called
more often than its attempts allow. ``bench/campaign.py`` sweeps each kind
at several rates.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest
from campaignkit import Campaign, check_final, make_project, simulator

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="POSIX processes")

#: kind -> (simulator settings, extra environment)
FAULTS: dict[str, tuple[str, dict[str, str]]] = {
    "429": ("p429=0.3,retry_after_ms=20", {}),
    "529": ("p529=0.3", {}),
    "500": ("p500=0.3", {}),
    "disconnect": ("pdisconnect=0.2", {}),
    "timeout": ("latency_ms=40,jitter_ms=200", {"ORCHESTRATE_TIMEOUT_S": "0.15"}),
    "truncation": ("ptruncated=0.4", {}),
    "never-valid": ("pnever_valid=0.15,pbad_enum=0.3", {}),
}


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_a_run_under_each_fault_keeps_every_invariant(tmp_path: Path, kind: str) -> None:
    config, env = FAULTS[kind]
    project = make_project(tmp_path / "p")
    with simulator(f"seed=11,{config}") as server:
        camp = Campaign(project, server, env=env)
        result = camp.run()
        assert result.code in (0, 1), result.err[-2000:]
        time.sleep(0.3)  # calls the client gave up on finish (and are billed) on the simulator's side
        camp.given_up = sum(1 for line in project.ledger() if line.get("outcome") == "timeout")
        found = check_final(camp)
        assert found.problems == [], found.problems[:10]
        injected = server.stats.snapshot().faults
        if kind in ("429", "529", "500", "disconnect"):
            assert injected.get(f"p{kind}" if kind != "disconnect" else "pdisconnect", 0) >= 5, injected
        if kind == "timeout":
            assert camp.given_up >= 3, "calls timed out and were retried"
        if kind == "truncation":
            assert any(line.get("outcome") == "truncated" for line in project.ledger())
        if kind == "never-valid":
            assert found.pending >= 1 and result.code == 1, "rows that never validate stay pending, with a reason"
        else:
            assert found.complete == 36 and result.code == 0, result.err[-1500:]
