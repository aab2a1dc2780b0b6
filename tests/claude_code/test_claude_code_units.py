"""The claude-code provider without a runtime: command line, environment, results, watchdog, files."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import pytest
from cckit import make_demo

from orchestrator.errors import (
    AuthenticationFailed,
    BadRequest,
    ConfigError,
    Overloaded,
    ProviderError,
    ProviderTimeout,
    RateLimited,
    SpendLimitReached,
)
from orchestrator.models import Usage
from orchestrator.prompts import dispatch_prompt, plan_paths
from orchestrator.providers.claude_code import runtime
from orchestrator.providers.claude_code.command import (
    EMPTY_MCP_CONFIG,
    AgentLimits,
    agent_argv,
    agent_env,
)
from orchestrator.providers.claude_code.events import AgentRun, result_usage
from orchestrator.providers.claude_code.files import OutputGuard
from orchestrator.providers.claude_code.outcome import check_finished
from orchestrator.providers.claude_code.provider import ClaudeCodeProvider
from orchestrator.providers.claude_code.request import SYSTEM_PROMPT, agent_metadata, agent_prompt, read_task
from orchestrator.providers.claude_code.runner import Finished, run_agent
from orchestrator.providers.registry import resolve_provider_name

SESSION = "0b9d7e1c-2f4a-4b7e-9a51-6c1d2e3f4a5b"


def _task(tmp_path: Path):  # type: ignore[no-untyped-def]
    demo = make_demo(tmp_path)
    row = demo.rows()[0]
    return demo, row, read_task(agent_metadata(demo.plan(), row, "item-0002"))


def _finished(result: dict[str, object] | None, *, killed: str | None = None, stderr: str = "") -> Finished:
    run = AgentRun(session_id=SESSION)
    run.result = dict(result) if result is not None else None
    return Finished(run, 0 if killed is None else -15, stderr, killed, 1.0)


SUCCESS = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "api_error_status": None,
    "num_turns": 3,
    "result": "Wrote it.",
    "session_id": SESSION,
    "total_cost_usd": 0.0211,
    "usage": {"input_tokens": 45, "output_tokens": 288, "cache_creation_input_tokens": 1959,
              "cache_read_input_tokens": 2936},
    "modelUsage": {"claude-haiku-5-5": {"inputTokens": 45, "outputTokens": 288, "cacheReadInputTokens": 2936,
                                        "cacheCreationInputTokens": 1959, "costUSD": 0.0211}},
}


# --- the metadata and the prompt --------------------------------------------------


def test_agent_metadata_has_the_driver_keys_with_absolute_paths(tmp_path: Path) -> None:
    demo = make_demo(tmp_path)
    plan, row = demo.plan(), demo.rows()[0]
    meta = agent_metadata(plan, row, "item-0002")
    assert meta == {
        "dispatch_prompt": " ".join(dispatch_prompt(plan, row, plan_paths(plan)).split("\n")),
        "output_path": str(tmp_path / "plans" / "output" / "glossary" / "quorum.md"),
        "output_dir": str(tmp_path / "plans" / "output" / "glossary"),
        "cwd": str(tmp_path / "plans"),
        "reference_path": str(tmp_path / "format_refs" / "idempotency.md"),
        "item": "item-0002",
    }
    assert meta["dispatch_prompt"].startswith("Read ../format_refs/idempotency.md for structure")
    assert "Write the output to output/glossary/quorum.md." in meta["dispatch_prompt"]


def test_the_first_prompt_is_the_dispatch_prompt_then_the_absolute_paths(tmp_path: Path) -> None:
    _, _, task = _task(tmp_path)
    lines = agent_prompt(task).splitlines()
    assert lines[0] == task.dispatch_prompt
    assert lines[2:] == [
        f"Format reference (absolute path): {tmp_path / 'format_refs' / 'idempotency.md'}",
        f"Output file (absolute path): {tmp_path / 'plans' / 'output' / 'glossary' / 'quorum.md'}",
    ]


def test_metadata_without_the_driver_keys_is_a_bad_request(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="lacks dispatch_prompt, output_path, cwd, reference_path, item"):
        read_task({})
    with pytest.raises(ValueError, match="must be absolute: output_path"):
        read_task({"dispatch_prompt": "x", "output_path": "out/a.md", "cwd": "/p", "reference_path": "/r", "item": "i"})


# --- the command line and the environment ---------------------------------------


def test_the_exact_command_line(tmp_path: Path) -> None:
    _, _, task = _task(tmp_path)
    out = tmp_path / "plans" / "output" / "glossary"
    ref = tmp_path / "format_refs" / "idempotency.md"
    argv = agent_argv("/opt/claude", task, "claude-haiku-5-5", AgentLimits(max_turns=6, max_budget_usd=0.25))
    assert argv == [
        "/opt/claude", "-p", "--output-format", "stream-json", "--verbose",
        "--model", "claude-haiku-5-5",
        "--system-prompt", SYSTEM_PROMPT,
        "--tools", "Read,Write",
        "--permission-mode", "dontAsk",
        "--allowedTools", f"Read(/{ref})", f"Read(/{out}/**)", f"Edit(/{out}/**)",
        "--setting-sources", "",
        "--strict-mcp-config", "--mcp-config", EMPTY_MCP_CONFIG,
        "--max-turns", "6", "--max-budget-usd", "0.25",
    ]
    assert EMPTY_MCP_CONFIG == '{"mcpServers":{}}'
    resumed = agent_argv("/opt/claude", task, "claude-haiku-5-5", AgentLimits(), resume=SESSION)
    assert resumed[-2:] == ["--resume", SESSION]
    assert "--no-session-persistence" not in resumed  # a repair must be able to resume


def test_the_environment_is_quiet_and_keeps_the_callers_credentials() -> None:
    env = agent_env({"PATH": "/bin", "ANTHROPIC_API_KEY": "k", "CLAUDECODE": "1", "MCP_CONFIG": "x",
                     "CLAUDE_CODE_MAX_RETRIES": "5"})
    assert env == {
        "PATH": "/bin",
        "ANTHROPIC_API_KEY": "k",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_ERROR_REPORTING": "1",
        "DISABLE_AUTOUPDATER": "1",
        "CLAUDE_CODE_MAX_RETRIES": "0",
    }


# --- the JSON result ----------------------------------------------------------------


def test_a_success_result_is_returned_and_its_usage_summed_over_models() -> None:
    assert check_finished(_finished(SUCCESS), sessions_kept=False) == SUCCESS
    two = {**SUCCESS, "modelUsage": {"a": {"inputTokens": 1, "outputTokens": 2},
                                     "b": {"inputTokens": 10, "cacheReadInputTokens": 5}}}
    assert result_usage(two) == Usage(11, 2, 0, 5)
    assert result_usage({"usage": SUCCESS["usage"]}) == Usage(45, 288, 1959, 2936)


@pytest.mark.parametrize(
    ("status", "error"),
    [(429, RateLimited), (529, Overloaded), (500, Overloaded), (401, AuthenticationFailed),
     (403, AuthenticationFailed), (402, SpendLimitReached), (400, BadRequest)],
)
def test_an_error_result_that_says_success_is_still_an_error(status: int, error: type[ProviderError]) -> None:
    failed = {**SUCCESS, "is_error": True, "api_error_status": status, "result": f"API Error: {status} nope"}
    with pytest.raises(error) as caught:
        check_finished(_finished(failed), sessions_kept=False)
    assert type(caught.value) is error
    assert f"API status {status}" in caught.value.message and SESSION in caught.value.message


def test_other_failed_results_name_their_subtype_and_the_fix() -> None:
    with pytest.raises(ProviderError) as caught:
        check_finished(_finished({**SUCCESS, "subtype": "error_max_turns", "is_error": True}), sessions_kept=True)
    assert "error_max_turns" in caught.value.message and caught.value.hint is not None
    assert "ORCHESTRATE_CLAUDE_MAX_TURNS" in caught.value.hint
    assert not caught.value.retryable
    limit = {**SUCCESS, "is_error": True, "result": "Claude AI usage limit reached|1797000000"}
    with pytest.raises(SpendLimitReached):
        check_finished(_finished(limit), sessions_kept=False)


def test_no_result_and_a_watchdog_kill_are_errors_with_the_session() -> None:
    with pytest.raises(ProviderError, match=r"exited \(code 0\) without a result: boom"):
        check_finished(_finished(None, stderr="boom\n"), sessions_kept=False)
    with pytest.raises(ProviderTimeout) as caught:
        check_finished(_finished(None, killed="the agent sent no event for 3 s (idle timeout)"), sessions_kept=True)
    assert caught.value.retryable and SESSION in caught.value.message
    assert "killed the agent's process group" in caught.value.message


# --- the watchdog, on a stand-in agent ----------------------------------------------------


def _fake_agent(tmp_path: Path, body: str) -> Path:
    script = tmp_path / "fake-claude"
    script.write_text(f"#!{sys.executable}\nimport json, os, subprocess, sys, time\n{body}\n")
    script.chmod(0o755)
    return script


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


def test_a_hung_agent_and_its_children_are_killed_on_the_idle_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    script = _fake_agent(tmp_path, (
        f"child = subprocess.Popen(['sleep', '60']); open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
        f"print(json.dumps({{'type': 'system', 'subtype': 'init', 'session_id': {SESSION!r}}}), flush=True)\n"
        "time.sleep(60)"
    ))
    started = time.monotonic()
    done = asyncio.run(run_agent([str(script)], cwd=tmp_path, env=dict(os.environ), prompt="hi",
                                 limits=AgentLimits(idle_timeout_s=1.0, row_timeout_s=30)))
    assert time.monotonic() - started < 10
    assert done.killed is not None and "idle timeout" in done.killed
    assert done.run.session_id == SESSION and done.run.startup_s is not None
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the agent's child survived the kill"


def test_a_chatty_agent_is_still_stopped_by_the_wall_clock(tmp_path: Path) -> None:
    script = _fake_agent(tmp_path, "while True:\n    print('{\"type\": \"ping\"}', flush=True); time.sleep(0.1)")
    done = asyncio.run(run_agent([str(script)], cwd=tmp_path, env=dict(os.environ), prompt="",
                                 limits=AgentLimits(idle_timeout_s=1.0, row_timeout_s=1.5)))
    assert done.killed is not None and "per-row limit of 1.5 s" in done.killed
    assert done.run.events >= 5


def test_the_prompt_goes_to_standard_input(tmp_path: Path) -> None:
    echo = "print(json.dumps({'type': 'result', 'subtype': 'success', 'result': sys.stdin.read()}))"
    script = _fake_agent(tmp_path, echo)
    done = asyncio.run(run_agent([str(script)], cwd=tmp_path, env=dict(os.environ), prompt="the prompt",
                                 limits=AgentLimits()))
    assert done.killed is None and done.returncode == 0
    assert done.run.result is not None and done.run.result["result"] == "the prompt"


# --- the files -------------------------------------------------------------------------


def test_the_output_path_is_put_back_as_it_was(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    fresh = OutputGuard.take(out / "a.md", out)
    (out / "a.md").write_text("draft")
    assert fresh.read(wrote=True) == "draft"
    fresh.restore()
    assert not (out / "a.md").exists()
    (out / "b.md").write_text("old")
    earlier = OutputGuard.take(out / "b.md", out)
    assert earlier.read(wrote=False) is None  # untouched: not this agent's answer
    (out / "b.md").write_text("new")
    earlier.restore()
    assert (out / "b.md").read_text() == "old"


def test_strays_are_removed_only_when_the_agent_created_them(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "kept.md").write_text("the user's")
    guard = OutputGuard.take(out / "a.md", out)
    (out / "new.md").write_text("agent's")
    (out / "kept.md").write_text("overwritten")
    (tmp_path / "outside.md").write_text("agent's too")
    strays = guard.strays([str(out / "a.md"), "out/new.md", str(out / "kept.md"), str(tmp_path / "outside.md"),
                           str(out / "refused.md")], tmp_path)
    assert [s.describe() for s in strays] == [
        f"{out / 'new.md'} (removed)",
        f"{out / 'kept.md'} (it existed before the agent ran; left in place)",
        f"{tmp_path / 'outside.md'} (outside the Output Directory; left in place)",
    ]
    assert not (out / "new.md").exists() and (out / "kept.md").exists() and (tmp_path / "outside.md").exists()


# --- no runtime ---------------------------------------------------------------------------


def test_without_a_runtime_the_error_says_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(runtime, "LOCAL_RUNTIME", Path("no-such-runtime") / "claude")
    monkeypatch.setattr(runtime, "bundled_cli", lambda: None)
    monkeypatch.chdir(tmp_path)
    env = {"PATH": str(tmp_path)}
    with pytest.raises(ConfigError) as caught:
        resolve_provider_name("claude-code", env=env)
    assert caught.value.exit_code == 2
    hint = caught.value.hint or ""
    assert "pip install 'plan-orchestrator[claude-code]'" in hint
    assert "npm install --prefix .claude-runtime @anthropic-ai/claude-code" in hint
    with pytest.raises(ConfigError, match="not an executable file"):
        ClaudeCodeProvider.create({**env, "ORCHESTRATE_CLAUDE_PATH": str(tmp_path / "missing")})
    with pytest.raises(ConfigError, match="ORCHESTRATE_CLAUDE_MAX_TURNS='lots'"):
        ClaudeCodeProvider.check_env({**env, "ORCHESTRATE_CLAUDE_MAX_TURNS": "lots"})


def test_the_bundled_cli_of_the_agent_sdk_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "site" / "claude_agent_sdk"
    (package / "_bundled").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    binary = package / "_bundled" / "claude"
    binary.write_text("#!/bin/sh\n")
    binary.chmod(0o755)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setattr(runtime, "LOCAL_RUNTIME", Path("no-such-runtime") / "claude")
    monkeypatch.chdir(tmp_path)
    assert runtime.find_cli({"PATH": str(tmp_path)}) == binary
