"""The ``[y/N]`` confirmation on a real pseudo-terminal (issue 10, finding 4).

``orchestrate run`` is started on a pty (its controlling terminal), so Ctrl-C
is the byte ``\\x03`` typed at the terminal and turned into SIGINT by the
line discipline, exactly as for a person. The simulator counts what reached it.
"""

from __future__ import annotations

import os
import pty
import select
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from clikit import copy_example

from orchestrator.errors import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_OK
from orchestrator.sim.config import SimConfig
from orchestrator.sim.server import SimServer

QUESTION = b"[y/N]"


@pytest.fixture
def server() -> Iterator[SimServer]:
    sim = SimServer(SimConfig(latency_ms=1))
    sim.start()
    yield sim
    sim.stop()


class Terminal:
    """A child process on a pty: type into it, read what it printed, wait for its exit code."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str]) -> None:
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # the child: the pty is its controlling terminal
            try:
                os.chdir(cwd)
                os.execve(argv[0], argv, env)
            finally:
                os._exit(127)
        self.seen = b""

    def read_until(self, marker: bytes, timeout: float = 60.0) -> bytes:
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            left = deadline - time.monotonic()
            assert left > 0, f"no {marker!r} within {timeout} s; output so far:\n{self.seen.decode(errors='replace')}"
            if not self._read(left):
                break
        assert marker in self.seen, self.seen.decode(errors="replace")
        return self.seen

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], min(timeout, 1.0))
        if not ready:
            return True
        try:
            data = os.read(self.fd, 4096)
        except OSError:  # EIO: the child closed the terminal
            return False
        self.seen += data
        return bool(data)

    def type(self, data: bytes) -> None:
        os.write(self.fd, data)

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.1)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05):
                    pass
                os.close(self.fd)
                return os.waitstatus_to_exitcode(status)
        os.kill(self.pid, 9)
        os.waitpid(self.pid, 0)
        raise AssertionError(f"still running after {timeout} s:\n{self.seen.decode(errors='replace')}")

    @property
    def text(self) -> str:
        return self.seen.decode(errors="replace").replace("\r\n", "\n")


def start_run(tmp_path: Path, server: SimServer) -> Terminal:
    plan = copy_example(tmp_path / "demo")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "ORCHESTRATE_"))},
        "ORCHESTRATE_SIM_URL": server.url,
        "TERM": "dumb",
        "COLUMNS": "200",
    }
    argv = [sys.executable, "-m", "orchestrator", "run", str(plan), "--phase", "1", "--provider", "sim", "--limit", "1"]
    return Terminal(argv, plan.parent, env)


def messages_sent(server: SimServer) -> int:
    return server.stats.snapshot().requests.get("messages", 0)


def test_ctrl_c_at_the_question_cancels_at_once_with_130(tmp_path: Path, server: SimServer) -> None:
    term = start_run(tmp_path, server)
    term.read_until(QUESTION)
    term.type(b"\x03")  # one Ctrl-C, no Enter after it
    code = term.wait(timeout=15)
    assert code == EXIT_INTERRUPTED, term.text
    assert "interrupted at the confirmation: nothing was dispatched" in term.text
    assert messages_sent(server) == 0


def test_answering_n_is_not_confirmed_exit_2(tmp_path: Path, server: SimServer) -> None:
    term = start_run(tmp_path, server)
    term.read_until(QUESTION)
    term.type(b"n\r")
    code = term.wait()
    assert code == EXIT_BAD_INPUT, term.text
    assert "not confirmed: nothing was dispatched" in term.text and "--yes" in term.text
    assert messages_sent(server) == 0


def test_an_unclear_answer_is_asked_again_then_y_proceeds(tmp_path: Path, server: SimServer) -> None:
    term = start_run(tmp_path, server)
    term.read_until(QUESTION)
    term.type(b"maybe\r")
    term.read_until(b"Please answer y or n.")
    term.type(b"y\r")
    code = term.wait(timeout=60)
    assert code == EXIT_OK, term.text
    assert messages_sent(server) >= 1
