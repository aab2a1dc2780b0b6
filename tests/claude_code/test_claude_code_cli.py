"""The real ``claude`` CLI, headless, against the simulator: every base URL on loopback, HOME in tmp_path."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from cckit import (
    EXPECTED_ENDPOINTS,
    CatchAllProxy,
    Demo,
    WritingHooks,
    glossary_failures,
    jobs_for,
    loopback_env,
    make_demo,
    real_cli,
)

from orchestrator.dispatch.engine import dispatch
from orchestrator.dispatch.jobs import DispatchSettings
from orchestrator.errors import ProviderError, ProviderTimeout
from orchestrator.providers.claude_code import ClaudeCodeProvider
from orchestrator.providers.claude_code.overhead import agent_row_usage
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer
from orchestrator.sim.tokens import count_text


@pytest.fixture(scope="module")
def cli() -> Path:
    return real_cli()


class Rig:
    """A simulator, a catch-all proxy, a demo plan and a provider wired together."""

    def __init__(self, tmp_path: Path, cli: Path, config: SimConfig, **options: object) -> None:
        self.demo: Demo = make_demo(tmp_path / "demo")
        self.sim = SimServer(config)
        self.proxy = CatchAllProxy()
        self.home = tmp_path / "home"
        self.cli, self.options = cli, options

    def __enter__(self) -> Rig:
        self.sim.start()
        self.proxy.__enter__()
        self.env = loopback_env(self.home, self.sim.url, self.proxy.url, self.cli)
        self.provider = ClaudeCodeProvider.create(self.env, **{"idle_timeout_s": 60.0, **self.options})
        return self

    def __exit__(self, *exc: object) -> None:
        self.proxy.__exit__()
        self.sim.stop()

    def assert_only_the_simulator_was_reached(self) -> None:
        log = self.sim.stats.snapshot().log
        assert log, "the agent made no request at all"
        assert {r.endpoint for r in log} <= EXPECTED_ENDPOINTS, [(r.method, r.path) for r in log]
        assert all(r.user_agent.startswith("claude-cli/") for r in log)
        assert self.proxy.requests == [], f"the agent tried to reach other hosts: {self.proxy.requests}"
        assert self.sim.stats.snapshot().internal_errors == 0


@pytest.fixture
def rig(tmp_path: Path, cli: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    marker = request.node.get_closest_marker("sim")
    config = SimConfig(seed=7, **(marker.kwargs if marker else {}))
    options = request.node.get_closest_marker("agent")
    with Rig(tmp_path, cli, config, **(options.kwargs if options else {})) as r:
        yield r


def _transcript_writes(home: Path, session: str) -> list[dict[str, str]]:
    """The Write calls in a kept session's transcript."""
    (path,) = home.glob(f".claude/projects/*/{session}.jsonl")
    writes = []
    for line in path.read_text(encoding="utf-8").splitlines():
        event = json.loads(line)
        content = (event.get("message") or {}).get("content")
        for block in content if isinstance(content, list) else []:
            if block.get("type") == "tool_use" and block.get("name") == "Write":
                writes.append(block["input"])
    return writes


@pytest.mark.agent(keep_sessions=True)
async def test_a_phase_completes_with_files_the_agents_wrote(rig: Rig) -> None:
    rows = rig.demo.rows()
    assert len(rows) == 5
    jobs = jobs_for(rig.demo, rows)
    hooks = WritingHooks({job.key: Path(job.request.metadata["output_path"]) for job in jobs})
    report = await dispatch(jobs, rig.provider, hooks, DispatchSettings(workers=3))
    await rig.provider.aclose()
    assert report.stopped is None and not report.pending
    assert [o.ok for o in report.outcomes] == [True] * 5
    for job in jobs:
        out = Path(job.request.metadata["output_path"])
        text = out.read_text(encoding="utf-8")
        assert glossary_failures(text) == []
        result = next(r for key, r in hooks.results if key == job.key)
        assert result.text == text and result.cost_is_estimate and result.num_turns == 3
        assert result.client_cost_usd is not None and result.startup_s is not None
        assert result.usage.cache_read_input_tokens > 0  # the agent's turns read the cached prefix
        assert result.session_id is not None
        assert _transcript_writes(rig.home, result.session_id) == [{"file_path": str(out), "content": text}]
    assert sorted(p.name for p in rig.demo.outputs.iterdir()) == sorted(r.filename for r in rows)
    assert rig.sim.stats.snapshot().requests["messages"] == 3 * 5  # Read, Write, done: per row
    rig.assert_only_the_simulator_was_reached()
    # The documented per-row figure holds: measured tokens within 10 % of agent_row_usage().
    reference = rig.demo.plan().format_reference_path()
    assert reference is not None
    later = [r.usage.total for key, r in hooks.results[1:]]
    predicted = agent_row_usage(count_text(reference.read_text(encoding="utf-8"), 4.0),
                                round(sum(r.usage.output_tokens for _, r in hooks.results) / 5) - 80).total
    assert abs(sum(later) / len(later) - predicted) < 0.1 * predicted, (later, predicted)


@pytest.mark.sim(pbad_enum=1.0)
async def test_a_repair_resumes_the_rows_session_and_succeeds(rig: Rig) -> None:
    (job,) = jobs_for(rig.demo, rig.demo.rows()[:1])
    out = Path(job.request.metadata["output_path"])
    hooks = WritingHooks({job.key: out})
    report = await dispatch([job], rig.provider, hooks, DispatchSettings(workers=1))
    (outcome,) = report.outcomes
    assert outcome.ok and outcome.repairs == 1 and outcome.calls == 2
    (_, first), (_, second) = hooks.results
    assert "must be one of" in glossary_failures(first.text)[0]
    assert glossary_failures(second.text) == []
    assert first.session_id is not None and second.session_id == first.session_id  # resumed, not restarted
    assert out.read_text(encoding="utf-8") == second.text
    await rig.provider.aclose()
    assert list(rig.home.glob(f".claude/projects/*/{first.session_id}.jsonl")) == []  # not kept by default
    rig.assert_only_the_simulator_was_reached()


@pytest.mark.sim(pstray_write=1.0)
async def test_a_stray_write_is_caught_and_only_the_agents_file_removed(rig: Rig) -> None:
    row = rig.demo.rows()[0]
    rig.demo.outputs.mkdir(parents=True)
    keep = rig.demo.outputs / "notes.md"
    keep.write_text("the user's own file\n")
    with pytest.raises(ProviderError) as caught:
        await rig.provider.call(rig.demo.request(row))
    stray = rig.demo.outputs / f"stray-{row.filename}"
    assert not isinstance(caught.value, ProviderTimeout) and not caught.value.retryable
    assert f"{stray} (removed)" in caught.value.message
    assert sorted(p.name for p in rig.demo.outputs.iterdir()) == ["notes.md"]  # no stray, no half answer
    assert keep.read_text() == "the user's own file\n"
    rig.assert_only_the_simulator_was_reached()


def _processes_with_home(home: Path) -> list[int]:
    """Live processes whose environment has HOME=home (the agent and anything it started)."""
    marker = f"HOME={home}".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                if marker in (proc / "environ").read_bytes().split(b"\0"):
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


@pytest.mark.sim(phang=1.0, hang_ms=60_000)
@pytest.mark.agent(idle_timeout_s=6.0, row_timeout_s=30.0)
async def test_a_hung_agent_is_killed_by_the_watchdog_and_the_row_stays_pending(rig: Rig) -> None:
    (job,) = jobs_for(rig.demo, rig.demo.rows()[:1])
    hooks = WritingHooks({job.key: Path(job.request.metadata["output_path"])})
    started = time.monotonic()
    report = await dispatch([job], rig.provider, hooks, DispatchSettings(workers=1, timeout_retries=0))
    assert time.monotonic() - started < 25
    (outcome,) = report.outcomes
    assert not outcome.ok and outcome.error is not None
    assert "sent no event for 6 s (idle timeout)" in outcome.error
    session = rig.provider.session_of(job.key)
    assert session is not None and f"session {session}" in outcome.error
    assert not rig.demo.outputs.exists() or list(rig.demo.outputs.iterdir()) == []
    assert _processes_with_home(rig.home) == []
    assert rig.sim.stats.snapshot().faults == {"phang": 1}
    rig.assert_only_the_simulator_was_reached()
