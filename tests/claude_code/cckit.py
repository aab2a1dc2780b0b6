"""Helpers for the claude-code tests: the real CLI, a loopback-only environment, a demo plan."""

from __future__ import annotations

import os
import shutil
import socketserver
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import pytest

from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import Job, JobOutcome, Verdict
from orchestrator.errors import ConfigError
from orchestrator.plan.model import Plan, Row
from orchestrator.plan.parser import read_plan
from orchestrator.providers.base import CallRequest, CallResult, Turn
from orchestrator.providers.claude_code.request import agent_metadata
from orchestrator.providers.claude_code.runtime import find_cli

REPO = Path(__file__).resolve().parents[2]
MODEL = "claude-haiku-5-5"
#: Endpoints of the simulator that Claude Code may use; anything else is unexpected traffic.
EXPECTED_ENDPOINTS = {"messages", "count_tokens"}


def real_cli() -> Path:
    """The claude CLI to test with; CI must have one (``.ci/run`` installs it), elsewhere skip."""
    try:
        return find_cli({"PATH": os.environ.get("PATH", "")}, cwd=REPO)
    except ConfigError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI must install the claude CLI: {exc.render()}")
        pytest.skip("the claude CLI is not installed: npm install --prefix .claude-runtime @anthropic-ai/claude-code")


class CatchAllProxy:
    """An HTTP(S) proxy on loopback that refuses everything and remembers what was asked.

    The agent's environment names it as ``HTTPS_PROXY``/``HTTP_PROXY``, so a
    request to any host but the simulator (which ``NO_PROXY`` exempts) lands
    here instead of on the network, and the test can assert there was none.
    """

    def __init__(self) -> None:
        self.requests: list[str] = []
        lines = self.requests

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                lines.append(self.rfile.readline().decode("latin-1").strip())
                self.wfile.write(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> CatchAllProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self._server.shutdown()
        self._server.server_close()


def loopback_env(home: Path, sim_url: str, proxy_url: str, cli: Path) -> dict[str, str]:
    """A fresh environment: HOME in the test's folder, every base URL and proxy on loopback."""
    home.mkdir(parents=True, exist_ok=True)
    node = shutil.which("node")
    dirs = [str(cli.parent), *([str(Path(node).parent)] if node else []), "/usr/bin", "/bin"]
    path = os.pathsep.join(dict.fromkeys(dirs))
    return {
        "PATH": path,
        "HOME": str(home),
        "XDG_CONFIG_HOME": str(home / ".config"),
        "ANTHROPIC_BASE_URL": sim_url,
        "ANTHROPIC_API_KEY": "sk-sim",
        "CLAUDE_CODE_API_BASE_URL": sim_url,
        "CLAUDE_CODE_GB_BASE_URL": sim_url,
        "CLAUDE_CODE_ARTIFACTS_API_BASE_URL": sim_url,
        "HTTPS_PROXY": proxy_url,
        "HTTP_PROXY": proxy_url,
        "https_proxy": proxy_url,
        "http_proxy": proxy_url,
        "NO_PROXY": "127.0.0.1,localhost",
        "no_proxy": "127.0.0.1,localhost",
    }


@dataclass
class Demo:
    """A copy of the example glossary plan (its reference lives outside the plan's folder)."""

    root: Path

    @property
    def plan_path(self) -> Path:
        return self.root / "plans" / "glossary.md"

    @property
    def outputs(self) -> Path:
        return self.root / "plans" / "output" / "glossary"

    def plan(self) -> Plan:
        return read_plan(self.plan_path)

    def rows(self, phase: int = 1) -> list[Row]:
        found = self.plan().phase(phase)
        assert found is not None
        return list(found.pending)

    def request(self, row: Row, turns: tuple[Turn, ...] = ()) -> CallRequest:
        """The request the pipeline sends for ``row`` (the agent ignores ``system``/``shared``)."""
        metadata = agent_metadata(self.plan(), row, f"item-{int(row.id):04d}")
        first = Turn("user", metadata["dispatch_prompt"])
        return CallRequest(MODEL, "", "", (first, *turns), 4000, metadata)


def make_demo(root: Path) -> Demo:
    (root / "plans").mkdir(parents=True)
    (root / "format_refs").mkdir()
    shutil.copy(REPO / "plans" / "glossary.md", root / "plans" / "glossary.md")
    shutil.copy(REPO / "format_refs" / "idempotency.md", root / "format_refs" / "idempotency.md")
    return Demo(root)


CATEGORIES = ("Consistency", "Concurrency", "Scalability", "Reliability")
SECTIONS = ["Definition", "Details", "Related Terms"]


def glossary_failures(text: str) -> list[str]:
    """What the glossary plan's checklist would say about ``text`` (a small stand-in for the validators)."""
    import yaml

    if not text.startswith("---\n") or "\n---\n" not in text[4:]:
        return ["the file must begin with front matter between --- lines"]
    front, body = text[4:].split("\n---\n", 1)
    meta = yaml.safe_load(front) or {}
    failures = []
    if meta.get("category") not in CATEGORIES:
        failures.append(f"category {meta.get('category')!r} must be one of: {', '.join(CATEGORIES)}")
    headings = [line[3:].strip() for line in body.splitlines() if line.startswith("## ")]
    if headings != SECTIONS:
        failures.append(f"sections must be {', '.join(SECTIONS)} in that order (found {', '.join(headings)})")
    return failures


@dataclass
class WritingHooks:
    """Dispatcher hooks that validate like the pipeline and write each valid output to its path."""

    outputs: dict[str, Path]
    results: list[tuple[str, CallResult]] = field(default_factory=list)
    finished: dict[str, JobOutcome] = field(default_factory=dict)

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        self.results.append((job.key, result))

    async def check(self, job: Job, result: CallResult) -> Verdict:
        failures = glossary_failures(result.text)
        return Verdict(not failures, result.text if not failures else None, failures)

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        self.finished[job.key] = outcome
        if outcome.ok and outcome.content is not None:
            path = self.outputs[job.key]
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(outcome.content, encoding="utf-8")

    def on_event(self, event: DispatchEvent) -> None:
        pass


def jobs_for(demo: Demo, rows: list[Row]) -> list[Job]:
    from orchestrator.models import load_model_table

    model = load_model_table().resolve("haiku")
    jobs = []
    for row in rows:
        request = demo.request(row)
        jobs.append(Job(key=request.metadata["item"], row_id=row.id, model=model, request=request))
    return jobs
