"""Helpers for the hardening tests: a bounded subprocess, a tree snapshot, a demo project, a canned API.

Every command runs as ``python -m orchestrator`` in its own process, under a
wall-clock timeout and an address-space cap (``RLIMIT_AS``), so an input that
hangs or explodes fails the test instead of the machine. When the tests run as
root, the child also drops ``CAP_DAC_OVERRIDE`` and ``CAP_DAC_READ_SEARCH``
(Linux capabilities), so a file with mode ``000`` is really unreadable to it,
as it would be for a user.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import os
import re
import resource
import shutil
import stat
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
PLAN = "plans/glossary.md"
REF = "format_refs/idempotency.md"
OUT_DIR = "plans/output/glossary"
TRACKING = f"{OUT_DIR}/tracking.yaml"
#: seconds one command may take (the issue's campaign used `timeout 30`)
TIMEOUT_S = 30
#: address space one command may map; the findings needed 2.6 to 5 GB
MEMORY_CAP = 1536 << 20
_ISOLATED = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ORCHESTRATE_MODELS",
             "ORCHESTRATE_SIM", "ORCHESTRATE_SIM_URL", "ORCHESTRATE_TRUST_PLAN")
_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH = 1, 2
_PR_CAPBSET_DROP = 24


# --- running ------------------------------------------------------------------------


def _drop_file_capabilities() -> None:
    """In the child: as root, stop bypassing file permissions (so mode 000 means unreadable).

    Root regains every capability of the bounding set at ``execve``, so the two
    are dropped from the bounding set (``prctl(PR_CAPBSET_DROP)``), not only
    from the current sets.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            os._exit(98)


def _bounded_child() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    _drop_file_capabilities()


@dataclass
class Outcome:
    args: tuple[str, ...]
    code: int
    out: str
    err: str
    changed: list[str]
    timed_out: bool = False

    @property
    def text(self) -> str:
        return self.out + self.err


def child_env(root: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATED}
    return {**env, "XDG_CONFIG_HOME": str(root / ".xdg"), "PYTHONDONTWRITEBYTECODE": "1", "COLUMNS": "200",
            **(extra or {})}


def orchestrate(cwd: Path, args: tuple[str, ...], env: dict[str, str] | None = None,
                timeout: float = TIMEOUT_S) -> Outcome:
    """Run ``orchestrate ARGS`` in ``cwd``, bounded; report what it printed and what it changed."""
    before = snapshot(cwd)
    try:
        done = subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=cwd, capture_output=True,
                              text=True, errors="replace", timeout=timeout, env=child_env(cwd, env),
                              stdin=subprocess.DEVNULL, preexec_fn=_bounded_child)
        code, out, err, timed_out = done.returncode, done.stdout, done.stderr, False
    except subprocess.TimeoutExpired as exc:
        code, timed_out = -1, True
        out = exc.stdout.decode("utf-8", "replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode("utf-8", "replace") if isinstance(exc.stderr, bytes) else (exc.stderr or "")
    after = snapshot(cwd)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    return Outcome(args, code, out, err, changed, timed_out)


def snapshot(root: Path) -> dict[str, str]:
    """Every entry under ``root`` by kind and content, never opening anything but a small regular file.

    FIFOs, devices, sockets and symlinks are described by ``lstat`` (reading a FIFO
    would hang the test itself); large files by size and modification time.
    """
    found: dict[str, str] = {}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            rel = str(path.relative_to(root))
            if rel.startswith(".xdg"):
                continue
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                found[rel] = f"link:{os.readlink(path)}"
            elif stat.S_ISREG(info.st_mode) and info.st_size <= 4 << 20 and info.st_mode & 0o444:
                found[rel] = "file:" + hashlib.sha256(path.read_bytes()).hexdigest()
            elif stat.S_ISREG(info.st_mode):
                found[rel] = f"file:{info.st_size}:{info.st_mtime_ns}:{info.st_mode}"
            else:
                found[rel] = f"mode:{stat.S_IFMT(info.st_mode)}"
    return found


def problems(outcome: Outcome, code: int, fragment: str) -> list[str]:
    """What is wrong with ``outcome`` against the expected exit code and message fragment."""
    found = []
    if outcome.timed_out:
        found.append(f"still running after {TIMEOUT_S} s (killed)")
    elif outcome.code != code:
        found.append(f"exit {outcome.code}, expected {code}")
    if "Traceback" in outcome.text or "MemoryError" in outcome.text:
        found.append("a traceback")
    if fragment and fragment.lower() not in outcome.text.lower():
        found.append(f"no message containing {fragment!r}")
    if code == 2 and "hint:" not in outcome.text:
        found.append("no hint: line")
    writes = outcome.args[0] == "run" or "--record" in outcome.args
    if outcome.changed and (code == 2 or not writes):
        found.append(f"wrote {outcome.changed[:4]}")
    return found


# --- a demo project -------------------------------------------------------------------


def make_template(root: Path) -> Path:
    """``orchestrate init`` plus a hand-made output for each Phase 1 row (valid copies of the reference)."""
    subprocess.run([sys.executable, "-m", "orchestrator", "init", str(root)], check=True, capture_output=True,
                   env=child_env(root))
    reference = (root / REF).read_text(encoding="utf-8")
    (root / OUT_DIR).mkdir(parents=True)
    for title, name in (("Quorum", "quorum.md"), ("Backpressure", "backpressure.md")):
        (root / OUT_DIR / name).write_text(reference.replace("term: Idempotency", f"term: {title}"), encoding="utf-8")
    return root


def copy_template(template: Path, dest: Path) -> Path:
    shutil.copytree(template, dest, symlinks=True)
    return dest


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# --- hostile shapes ---------------------------------------------------------------------


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """YAML lines whose last alias expands to ``width ** levels`` values ("billion laughs")."""
    lines = [f'lol0: &lol0 [{", ".join(["lol"] * width)}]']
    for level in range(1, levels):
        lines.append(f"lol{level}: &lol{level} [{', '.join([f'*lol{level - 1}'] * width)}]")
    return "\n".join(lines)


def front_matter_document(extra_yaml: str, title: str = "Quorum") -> str:
    """A glossary document whose front matter also holds ``extra_yaml``."""
    return (f"---\nterm: {title}\ncategory: Reliability\ntags: [a, b]\n{extra_yaml}\n---\n\n"
            "## Definition\n\nText.\n\n## Details\n\nText.\n\n## Related Terms\n\n- Idempotency\n")


# --- a canned Messages API on loopback ---------------------------------------------------

Answer = Callable[[dict[str, Any]], str]
_TITLE_RE = re.compile(r"Produce output covering (.+?)\.(?:\s|$)")


def request_title(body: dict[str, Any]) -> str:
    """The row title a request asks about (from the DISPATCH sentence)."""
    text = json.dumps(body["messages"])
    for message in body["messages"]:
        content = message["content"]
        parts = [content] if isinstance(content, str) else [p.get("text", "") for p in content]
        for part in parts:
            match = _TITLE_RE.search(part)
            if match:
                return match.group(1)
    return text[:40]


@contextmanager
def canned_api(answer: Answer) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A Messages API that answers every call with ``answer(request body)``; yields (URL, requests seen)."""
    seen: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def _json(self, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.send_header("request-id", f"req_{len(seen)}")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
            if self.path.startswith("/v1/messages/count_tokens"):
                self._json({"input_tokens": len(json.dumps(body)) // 4})
                return
            seen.append(body)
            text = answer(body)
            self._json({
                "id": f"msg_{len(seen)}", "type": "message", "role": "assistant", "model": body["model"],
                "content": [{"type": "text", "text": text}], "stop_reason": "end_turn", "stop_sequence": None,
                "usage": {"input_tokens": len(json.dumps(body)) // 4, "output_tokens": len(text) // 4,
                          "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
            })

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
