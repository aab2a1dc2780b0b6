"""``orchestrate doctor`` against the simulator: no key, unreachable URL, missing linter, all fine.

The real CLI runs in-process (its error boundary included); the provider is
the real ``anthropic`` SDK pointed at the simulator through
``ANTHROPIC_BASE_URL``, whose request counts prove that doctor never spends.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from orchestrator.cli.main import main
from orchestrator.doctor import Finding, probe_api, probe_request, run_doctor
from orchestrator.errors import ConnectionFailed, Overloaded
from orchestrator.providers.base import CallRequest, CallResult, Provider
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import INVALID_KEY, SimServer

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The glossary example under tmp_path (it names `pymarkdown scan <filepath>` as its linter)."""
    (tmp_path / "plans").mkdir()
    (tmp_path / "format_refs").mkdir()
    shutil.copy(REPO / "plans" / "glossary.md", tmp_path / "plans" / "glossary.md")
    shutil.copy(REPO / "format_refs" / "idempotency.md", tmp_path / "format_refs" / "idempotency.md")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "plans" / "glossary.md"


@pytest.fixture
def server() -> Iterator[SimServer]:
    sim = SimServer(SimConfig(latency_ms=1))
    sim.start()
    yield sim
    sim.stop()


@pytest.fixture
def path_without_linter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH is one empty folder: no `pymarkdown` anywhere."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    return empty


@pytest.fixture
def path_with_linter(path_without_linter: Path) -> Path:
    fake = path_without_linter / "pymarkdown"
    fake.write_text("#!/bin/sh\nexit 0\n", encoding="utf-8")
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    return fake


def doctor(*args: str) -> tuple[int, dict[str, object], str]:
    """``orchestrate doctor ARGS --json``: exit code, the JSON, stderr."""
    runner = CliRunner()
    with runner.isolation() as (out, err, _):
        try:
            main(["doctor", *args, "--json"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        data = json.loads(out.getvalue().decode())
        return code, data, err.getvalue().decode()


def check(data: dict[str, object], name: str) -> dict[str, str]:
    checks = data["checks"]
    assert isinstance(checks, list)
    found = [c for c in checks if c["name"] == name]
    assert len(found) == 1, checks
    return dict(found[0])


def requests(server: SimServer) -> dict[str, int]:
    return dict(server.stats.snapshot().requests)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


# --- the four situations of the issue ------------------------------------------------------


def test_everything_fine_and_nothing_spent(
    plan: Path, server: SimServer, path_with_linter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    code, data, _ = doctor(str(plan), "--trust-plan")
    assert code == 0, data
    assert data["ok"] is True and data["provider"] == "anthropic"
    assert [c["status"] for c in data["checks"]] == ["ok"] * 5  # type: ignore[union-attr]
    assert "ANTHROPIC_API_KEY is set" in check(data, "provider")["message"]
    assert server.url.rstrip("/") in check(data, "api")["message"]
    assert "pymarkdown scan <filepath>" in check(data, "lint")["message"]
    assert data["skipped_rules"] == []
    assert requests(server) == {"count_tokens": 1}, "one free request, no message created"


def test_no_key(plan: Path, server: SimServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    code, data, _ = doctor(str(plan), "--provider", "anthropic")
    assert code == 1 and data["ok"] is False
    key = check(data, "key")
    assert key["status"] == "fail" and "ANTHROPIC_API_KEY" in key["message"]
    assert "--provider sim" in key["hint"]
    assert check(data, "api")["status"] == "skip"
    assert requests(server) == {}


def test_no_key_and_no_provider_says_how_to_choose(plan: Path) -> None:
    code, data, _ = doctor(str(plan))
    provider = check(data, "provider")
    assert code == 1 and provider["status"] == "fail"
    assert "ANTHROPIC_API_KEY" in provider["message"] and "--provider sim" in provider["hint"]


def test_unreachable_url(plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", url)
    code, data, _ = doctor(str(plan))
    api = check(data, "api")
    assert code == 1 and api["status"] == "fail"
    assert url in api["message"] and "Connection refused" in api["message"]
    assert "ANTHROPIC_BASE_URL" in api["hint"]


def test_missing_linter(
    plan: Path, server: SimServer, path_without_linter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRATE_SIM_URL", server.url)
    code, data, _ = doctor(str(plan), "--provider", "sim", "--trust-plan")
    lint = check(data, "lint")
    assert code == 1 and lint["status"] == "fail"
    assert "'pymarkdown' was not found on PATH" in lint["details"][0]
    assert "plan-orchestrator[lint]" in lint["hint"] and "pymarkdownlnt" in lint["hint"]
    assert check(data, "api")["status"] == "ok"
    assert requests(server) == {"count_tokens": 1}


# --- around them -------------------------------------------------------------------------


def test_an_untrusted_plan_lists_its_linter_as_skipped_with_the_flag(
    plan: Path, server: SimServer, path_with_linter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRATE_SIM_URL", server.url)
    code, data, _ = doctor(str(plan), "--provider", "sim")
    assert code == 0 and check(data, "lint")["status"] == "skip"
    skipped = data["skipped_rules"]
    assert isinstance(skipped, list) and len(skipped) == 1
    assert skipped[0]["where"] == "glossary.md:23"
    assert "--trust-plan" in skipped[0]["enable"] and "pymarkdownlnt" in skipped[0]["enable"]


def test_rules_that_are_not_machine_checked_are_listed(
    plan: Path, server: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = plan.read_text(encoding="utf-8")
    plan.write_text(text.replace("- Blank line before every markdown table\n",
                                 "- Blank line before every markdown table\n- Write in a friendly voice\n"),
                    encoding="utf-8")
    monkeypatch.setenv("ORCHESTRATE_SIM_URL", server.url)
    _, data, _ = doctor(str(plan), "--provider", "sim")
    friendly = [r for r in data["skipped_rules"] if r["text"] == "Write in a friendly voice"]  # type: ignore[union-attr]
    assert len(friendly) == 1 and friendly[0]["where"] == "glossary.md:18"
    assert "docs/validation.md" in friendly[0]["enable"]


def test_a_rejected_key_is_a_failure_with_the_key_hint(
    plan: Path, server: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", INVALID_KEY)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
    code, data, _ = doctor(str(plan))
    api = check(data, "api")
    assert code == 1 and api["status"] == "fail" and "refused the key" in api["message"]
    assert "ANTHROPIC_API_KEY" in api["hint"]


def test_a_broken_plan_fails_the_plan_check_with_every_problem(plan: Path) -> None:
    plan.write_text(plan.read_text(encoding="utf-8").replace("| haiku | pending |", "| nosuchmodel | pending |", 1),
                    encoding="utf-8")
    code, data, _ = doctor(str(plan), "--provider", "sim")
    found = check(data, "plan")
    assert code == 1 and found["status"] == "fail"
    assert "model 'nosuchmodel' has no entry" in found["details"][0]


def test_the_text_report_marks_each_check(
    plan: Path, server: SimServer, path_without_linter: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORCHESTRATE_SIM_URL", server.url)
    runner = CliRunner()
    with runner.isolation() as (out, _err, _):
        with pytest.raises(SystemExit) as exited:
            main(["doctor", str(plan), "--provider", "sim", "--trust-plan"])
        text = out.getvalue().decode()
    assert exited.value.code == 1
    assert "  ok    provider: sim: chosen with --provider sim" in text
    assert "  FAIL  lint: 1 lint command(s) cannot run" in text
    assert text.rstrip().endswith("NOT READY: fix each FAIL above (doctor spent nothing)")


# --- the probe, with a scripted provider ---------------------------------------------------


class Flaky(Provider):
    name = "flaky"

    def __init__(self, errors: list[Exception]) -> None:
        self.errors = errors
        self.counted = 0

    async def call(self, request: CallRequest) -> CallResult:
        raise AssertionError("doctor must never call the model")

    async def count_tokens(self, request: CallRequest) -> int | None:
        self.counted += 1
        if self.errors:
            raise self.errors.pop(0)
        return 7


async def test_the_probe_retries_once_then_passes() -> None:
    provider = Flaky([Overloaded("529 overloaded_error")])
    finding = await probe_api(provider, probe_request("claude-haiku-5-5"), pause_s=0)
    assert finding == Finding("api", "ok", "reachable (count_tokens answered 7 token(s) for claude-haiku-5-5)")
    assert provider.counted == 2


async def test_the_probe_gives_up_after_two_connection_failures() -> None:
    dead = ConnectionFailed("cannot connect to http://127.0.0.1:9: Connection refused", url="http://127.0.0.1:9",
                            hint="check ANTHROPIC_BASE_URL")
    provider = Flaky([dead, dead, dead])
    finding = await probe_api(provider, probe_request("m"), pause_s=0)
    assert finding.status == "fail" and "unreachable" in finding.message and provider.counted == 2


def test_run_doctor_takes_the_environment_as_a_mapping(plan: Path, server: SimServer) -> None:
    env = {"ANTHROPIC_API_KEY": "sk-test", "ANTHROPIC_BASE_URL": server.url, "PATH": os.environ.get("PATH", "")}
    report = run_doctor(plan, env=env)
    assert report.provider == "anthropic" and report.base_url is not None
    assert [f.name for f in report.findings][:4] == ["plan", "provider", "key", "api"]
    assert check(report.as_dict(), "api")["status"] == "ok"
