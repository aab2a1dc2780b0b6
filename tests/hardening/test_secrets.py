"""A recognisable fake API key, used for a whole run with faults, never reaches a file or the terminal.

The key really is used: the simulator is started with ``key=`` set to it, so
every call that succeeds was authenticated with it (through the real SDK and
``--provider anthropic`` pointed at the simulator). Then every file under the
project (and the config folder) is searched for the key and for its tail, and
so is everything every command printed, including a run refused for a wrong
key and the report.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hardkit import PLAN, copy_template, make_template, orchestrate

from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer

KEY = "sk-ant-TEST-" + "c4nary" * 6 + "-XyZ0123456789"
WRONG = "sk-ant-TEST-" + "wr0ng" * 7 + "-AbC9876543210"
FAULTS = dict(seed=11, latency_ms=2, retry_after_ms=20, p429=0.15, p529=0.1, p500=0.1, pdisconnect=0.05,
              ptruncated=0.1, pbad_enum=0.2, pfenced=0.2, pmissing_section=0.1)


def _files_holding(root: Path, needles: list[bytes]) -> list[str]:
    found = []
    for folder, _dirs, files in os.walk(root):
        for name in files:
            path = Path(folder) / name
            if path.is_file() and not path.is_symlink():
                data = path.read_bytes()
                found += [f"{path.relative_to(root)} holds {n.decode()!r}" for n in needles if n in data]
    return found


def test_the_key_never_appears_in_any_file_or_output(tmp_path: Path) -> None:
    root = copy_template(make_template(tmp_path / "template"), tmp_path / "project")
    server = SimServer(SimConfig(key=KEY, **FAULTS))
    url = server.start()
    try:
        env = {"ANTHROPIC_API_KEY": KEY, "ANTHROPIC_BASE_URL": url}
        outcomes = [
            orchestrate(root, ("estimate", PLAN, "--phase", "1", "--provider", "anthropic"), env, timeout=120),
            orchestrate(root, ("run", PLAN, "--phase", "1", "--provider", "anthropic", "--yes", "--json"), env,
                        timeout=120),
            orchestrate(root, ("run", PLAN, "--phase", "2", "--provider", "anthropic", "--yes"),
                        {**env, "ANTHROPIC_API_KEY": WRONG}, timeout=120),
            orchestrate(root, ("run", PLAN, "--phase", "2", "--provider", "anthropic", "--yes"), env, timeout=120),
            orchestrate(root, ("validate", PLAN, "--json"), env),
            orchestrate(root, ("status", PLAN, "--json"), env),
        ]
    finally:
        server.stop()
    for outcome in outcomes:
        assert not outcome.timed_out and "Traceback" not in outcome.text, outcome.text[-2000:]
    run = json.loads(outcomes[1].out)
    assert run["totals"]["successful"] >= 1, "the key was used for real calls that succeeded"
    assert outcomes[2].code != 0, "a wrong key is refused"
    needles = [k.encode() for k in (KEY, WRONG)] + [k[-16:].encode() for k in (KEY, WRONG)]
    printed = [f"orchestrate {' '.join(o.args)} printed {n.decode()!r}"
               for o in outcomes for n in needles if n.decode() in o.text]
    assert not printed, printed
    written = _files_holding(root, needles)
    assert not written, written
    assert (root / "plans/output/glossary-phase1/index.html").is_file(), "the report was searched too"


@pytest.mark.parametrize("variable", ["ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"])
def test_an_unreachable_api_never_echoes_the_key(tmp_path: Path, variable: str) -> None:
    """A connection failure's message names the URL and the fix, not the credentials."""
    root = copy_template(make_template(tmp_path / "template"), tmp_path / "project")
    env = {variable: KEY, "ANTHROPIC_BASE_URL": "http://127.0.0.1:9", "ORCHESTRATE_TIMEOUT_S": "2"}
    outcome = orchestrate(root, ("run", PLAN, "--phase", "1", "--provider", "anthropic", "--yes"), env, timeout=120)
    assert outcome.code != 0 and not outcome.timed_out and "Traceback" not in outcome.text, outcome.text[-2000:]
    assert KEY not in outcome.text and KEY[-16:] not in outcome.text
    assert not _files_holding(root, [KEY.encode(), KEY[-16:].encode()])
