"""The hostile-input corpus: plans, format references, outputs, tracking files and model tables.

Each :class:`Case` prepares one hostile input in a copy of the demo project
and says, for each command it is run through, the exit code and a fragment of
the message it must print. ``check``, ``status``, ``validate``, ``explain``
and ``prompt`` are run on every case unless the case says otherwise; ``run
--provider sim`` where refusing is cheap (before any call). Commands a case
does not list for its kind of input are expected to be unaffected (exit 0).
"""

from __future__ import annotations

import os
import random
import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from hardkit import OUT_DIR, PLAN, REF, TRACKING, alias_bomb, edit, front_matter_document

Setup = Callable[[Path, Path], None]  # (project root, folder of shared big files)
Expect = dict[str, tuple[int, str]]

COMMANDS: dict[str, tuple[str, ...]] = {
    "check": ("check", "{plan}"),
    "status": ("status", "{plan}"),
    "validate": ("validate", "{plan}", "--phase", "1"),
    "explain": ("explain", "{plan}"),
    "prompt": ("prompt", "{plan}", "--phase", "1"),
    "run": ("run", "{plan}", "--phase", "1", "--provider", "sim", "--yes"),
    "record": ("validate", "{plan}", "--phase", "1", "--record"),
}
READERS = ("check", "status", "validate", "explain", "prompt")


@dataclass(frozen=True)
class Case:
    id: str
    setup: Setup
    expect: Expect
    plan: str = PLAN
    env: dict[str, str] = field(default_factory=dict)

    def commands(self) -> list[tuple[str, tuple[str, ...], int, str]]:
        return [(name, tuple(a.format(plan=self.plan) for a in COMMANDS[name]), code, fragment)
                for name, (code, fragment) in self.expect.items()]


# --- making hostile files -------------------------------------------------------------


def _fifo(rel: str) -> Setup:
    return lambda root, _big: os.mkfifo(root / rel)


def _link(rel: str, target: str) -> Setup:
    def setup(root: Path, _big: Path) -> None:
        (root / rel).unlink(missing_ok=True)
        (root / rel).symlink_to(target)

    return setup


def _loop(rel: str) -> Setup:
    def setup(root: Path, _big: Path) -> None:
        path = root / rel
        path.unlink(missing_ok=True)
        other = path.with_name(path.name + ".other")
        path.symlink_to(other.name)
        other.symlink_to(path.name)

    return setup


def _socket(rel: str) -> Setup:
    def setup(root: Path, _big: Path) -> None:
        (root / rel).unlink(missing_ok=True)
        short = Path(tempfile.mkdtemp(dir="/tmp"))  # an AF_UNIX path must be short: bind there, then move
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(short / "s"))
        os.rename(short / "s", root / rel)
        shutil.rmtree(short)

    return setup


def _unreadable(rel: str) -> Setup:
    def setup(root: Path, _big: Path) -> None:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        if not (root / rel).exists():
            (root / rel).write_text("outputs: []\n")
        (root / rel).chmod(0)

    return setup


def _sparse(rel: str, size: int) -> Setup:
    def setup(root: Path, _big: Path) -> None:
        with open(root / rel, "wb") as handle:
            handle.truncate(size)

    return setup


def _write(rel: str, data: str | bytes | Callable[[], str | bytes]) -> Setup:
    def setup(root: Path, _big: Path) -> None:
        value = data() if callable(data) else data
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(value.encode() if isinstance(value, str) else value)

    return setup


def _both(*steps: Setup) -> Setup:
    def setup(root: Path, big: Path) -> None:
        for step in steps:
            step(root, big)

    return setup


def _plan_edit(old: str, new: str) -> Setup:
    return lambda root, _big: edit(root / PLAN, old, new)


def _reference_at(target: str) -> Setup:
    """Point the plan's Format Reference at ``target`` (absolute, or relative to the plan)."""
    return _plan_edit("../format_refs/idempotency.md", target)


def _reference_is(data: str | bytes | Callable[[], str | bytes]) -> Setup:
    return _write(REF, data)


def _output_is(data: str | bytes | Callable[[], str | bytes]) -> Setup:
    return _write(f"{OUT_DIR}/quorum.md", data)


def _big_reference(root: Path, big: Path) -> None:
    edit(root / PLAN, "../format_refs/idempotency.md", str(big / "reference-50mb.md"))


def make_shared_files(big: Path) -> None:
    """Files too large to copy per case: a real 50 MB format reference."""
    line = "The format reference goes on and on, as a careless export from a wiki would. " * 2 + "\n"
    with open(big / "reference-50mb.md", "w", encoding="utf-8") as handle:
        handle.write("---\nterm: Idempotency\ncategory: Reliability\ntags: [a, b]\n---\n\n## Definition\n\n")
        handle.write(line * (50_000_000 // len(line)))


def _random_bytes(size: int, seed: int) -> Callable[[], bytes]:
    return lambda: random.Random(seed).randbytes(size)


def _with_plan(text_after: str) -> Callable[[], str]:
    """The example plan followed by ``text_after`` (read from the installed example)."""
    def build() -> str:
        from importlib import resources

        return resources.files("orchestrator.examples.plans").joinpath("glossary.md").read_text() + text_after

    return build


# --- expectations by kind of input ---------------------------------------------------------


def plan_case(id: str, setup: Setup, fragment: str, *, plan: str = "plans/hostile.md",
              env: dict[str, str] | None = None, commands: tuple[str, ...] = (*READERS, "run")) -> Case:
    """A hostile plan file: every command refuses it (exit 2) before writing anything."""
    return Case(id, setup, {name: (2, fragment) for name in commands}, plan, env or {})


def reference_case(id: str, setup: Setup, fragment: str, *, also: Expect | None = None,
                   commands: tuple[str, ...] = ("check", "validate", "explain", "prompt", "run")) -> Case:
    """A hostile format reference: refused (exit 2) wherever it is read; ``status`` never reads it."""
    expect: Expect = {"status": (0, "")}
    expect.update({name: (2, fragment) for name in commands})
    expect.update(also or {})
    return Case(id, setup, expect)


def output_case(id: str, setup: Setup, fragment: str, *, also: Expect | None = None) -> Case:
    """A hostile output file: ``validate`` fails it (exit 1) by name; the other readers never open it."""
    expect: Expect = {"check": (0, ""), "status": (0, ""), "explain": (0, ""), "prompt": (0, ""),
                      "validate": (1, fragment)}
    expect.update(also or {})
    return Case(id, setup, expect)


def tracking_case(id: str, setup: Setup, fragment: str, *, also: Expect | None = None) -> Case:
    """A hostile tracking file: ``check`` refuses it before a run pays; ``validate`` fails registration."""
    expect: Expect = {"check": (2, fragment), "prompt": (2, fragment), "run": (2, fragment), "status": (0, ""),
                      "explain": (0, ""), "validate": (1, fragment)}
    expect.update(also or {})
    return Case(id, setup, expect)


HOSTILE_PLAN = "plans/hostile.md"
FIFO, DEVICE, SOCKET, LOOP = "named pipe (FIFO)", "character device", "a socket", "symlink loop"
DENIED, UTF8 = "permission denied", "not valid UTF-8"
BOMB = "expands to more than 10,000 values"
ROW2 = "| 2 | Quorum | quorum.md | haiku | pending |"

PLAN_CASES = [
    plan_case("plan-fifo", _fifo(HOSTILE_PLAN), FIFO),
    plan_case("plan-dev-zero", lambda r, b: None, DEVICE, plan="/dev/zero"),
    plan_case("plan-dev-null", lambda r, b: None, DEVICE, plan="/dev/null"),
    plan_case("plan-link-to-dev-zero", _link(HOSTILE_PLAN, "/dev/zero"), DEVICE),
    plan_case("plan-socket", _socket(HOSTILE_PLAN), SOCKET),
    plan_case("plan-symlink-loop", _loop(HOSTILE_PLAN), LOOP),
    plan_case("plan-symlink-to-itself", _link(HOSTILE_PLAN, "hostile.md"), LOOP),
    plan_case("plan-unreadable", _both(_write(HOSTILE_PLAN, _with_plan("")), _unreadable(HOSTILE_PLAN)),
              "is not readable"),
    plan_case("plan-over-size-limit", _sparse(HOSTILE_PLAN, 9 << 20), "over the 8 MiB limit for a plan file"),
    plan_case("plan-over-lowered-limit", lambda r, b: None, "over the 1 KiB limit", plan=PLAN,
              env={"ORCHESTRATE_MAX_PLAN_BYTES": "1K"}),
    plan_case("plan-limit-variable-not-a-size", lambda r, b: None, "ORCHESTRATE_MAX_PLAN_BYTES='lots' is not a size",
              plan=PLAN, env={"ORCHESTRATE_MAX_PLAN_BYTES": "lots"}),
    plan_case("plan-over-line-limit", _write(HOSTILE_PLAN, "\n" * 50_001), "over the 50,000-line limit"),
    plan_case("plan-cr-only-lines", _write(HOSTILE_PLAN, "\r" * 50_001), "over the 50,000-line limit"),
    plan_case("plan-binary", _write(HOSTILE_PLAN, _random_bytes(1 << 20, 13)), UTF8),
    plan_case("plan-nul-bytes", _write(HOSTILE_PLAN, b"\x00" * (1 << 20)), "Phase"),
    plan_case("plan-huge-single-line", _write(HOSTILE_PLAN, "a" * ((8 << 20) - 16)), "Phase"),
    plan_case("plan-many-bullets", _write(HOSTILE_PLAN, "- x\n" * 20_000), "Phase"),
    plan_case("plan-deep-blockquote", _write(HOSTILE_PLAN, "> " * 20_000 + "## Phase 1\n"), "Phase"),
    plan_case("plan-deep-list", _write(HOSTILE_PLAN, "".join("  " * i + "- x\n" for i in range(700))), "Phase"),
    Case("plan-repeated-sections", _write(HOSTILE_PLAN, _with_plan("\n## Content Rules\n- more\n" * 5_000)),
         {"check": (2, "duplicate section 'Content Rules'"), "status": (0, ""), "prompt": (2, "duplicate section")},
         HOSTILE_PLAN),
    Case("plan-many-phases", _write(HOSTILE_PLAN, _with_plan("".join(
        f"\n## Phase {n}\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
        f"| {n} | Term {n} | term-{n}.md | haiku | pending |\n" for n in range(10, 3_000)))),
         {"check": (0, "phase(s)"), "status": (0, "Phase 2999"), "explain": (0, ""), "prompt": (0, "")},
         HOSTILE_PLAN),
    Case("filename-javascript-scheme", _plan_edit(ROW2, "| 2 | Quorum | javascript:alert(1).md | haiku | pending |"),
         {"check": (2, "contains ':'"), "prompt": (2, "contains ':'"), "run": (2, "contains ':'"),
          "status": (0, "")}),
    Case("filename-control-character", _plan_edit(ROW2, "| 2 | Quorum | quo\x1brum.md | haiku | pending |"),
         {"check": (2, "control character"), "run": (2, "control character"), "status": (0, "")}),
    Case("filename-nul-byte", _plan_edit(ROW2, "| 2 | Quorum | quo\x00rum.md | haiku | pending |"),
         {"check": (2, "NUL byte"), "run": (2, "NUL byte"), "status": (0, ""), "validate": (1, "")}),
    Case("filename-too-long", _plan_edit(ROW2, f"| 2 | Quorum | {'q' * 300}.md | haiku | pending |"),
         {"check": (2, "longer than 255 bytes"), "run": (2, "longer than 255 bytes"), "status": (0, "")}),
    reference_case("reference-path-nul-byte", _reference_at("../format_refs/idem\x00potency.md"),
                   "format reference not found"),
]

REFERENCE_CASES = [
    reference_case("reference-fifo", _both(lambda r, b: os.unlink(r / REF), _fifo(REF)), FIFO),
    reference_case("reference-dev-zero", _reference_at("/dev/zero"), DEVICE),
    reference_case("reference-dev-stdin", _reference_at("/dev/stdin"), DEVICE),
    reference_case("reference-socket", _socket(REF), SOCKET),
    reference_case("reference-symlink-loop", _loop(REF), LOOP),
    reference_case("reference-unreadable", _unreadable(REF), DENIED),
    reference_case("reference-50-mb", _big_reference, "over the 1 MiB limit for a format reference"),
    reference_case("reference-sparse-1-gib", _sparse(REF, 1 << 30), "is 1 GiB"),
    reference_case("reference-over-line-limit", _reference_is(front_matter_document("") + "x\n" * 30_000),
                   "over the 20,000-line limit"),
    reference_case("reference-proc-pagemap", _reference_at("/proc/self/pagemap"), "grew past 1 MiB while being read"),
    reference_case("reference-alias-bomb", _reference_is(front_matter_document(alias_bomb())), BOMB),
    reference_case("reference-alias-bomb-wide", _reference_is(front_matter_document(alias_bomb(4, 100))), BOMB),
    reference_case("reference-merge-key-bomb", _reference_is(front_matter_document(
        alias_bomb(6, 9) + "\nmerged:\n  <<: *lol5\n  extra: 1")), BOMB),
    reference_case("reference-alias-cycle", _reference_is(front_matter_document("loop: &me [*me]")),
                   "contains itself"),
    reference_case("reference-deep-nesting", _reference_is(front_matter_document("deep: " + "[" * 3000 + "]" * 3000)),
                   "nest"),
    reference_case("reference-many-keys", _reference_is(front_matter_document(
        "\n".join(f"k{n}: v" for n in range(12_000)))), "more than the 10,000 a front matter block may hold"),
    reference_case("reference-many-values", _reference_is(front_matter_document(
        "\n".join(f"k{n}: [a, b, c]" for n in range(3_000)))), BOMB),
    reference_case("reference-binary", _reference_is(_random_bytes(64 << 10, 7)), UTF8),
    reference_case("reference-unclosed-front-matter", _reference_is("---\n" + "key: value\n" * 15_000),
                   "never closed"),
    reference_case("reference-too-large-for-the-context-window",
                   _reference_is(front_matter_document("") + ("word " * 40 + "\n") * 4_500),
                   "context window", commands=("check", "prompt", "run")),
    reference_case("reference-huge-single-line", _reference_is(front_matter_document("") + "y" * 1_000_000),
                   "context window", commands=("check", "prompt", "run")),
    reference_case("model-context-window-tiny",
                   _write("plans/orchestrate.toml", "[models.haiku]\ncontext_tokens = 300\n"),
                   "300-token context window", commands=("check", "prompt", "run")),
    Case("reference-python-tag", _reference_is(front_matter_document(
        "exploit: !!python/object/apply:os.system ['touch pwned']")),
         {"check": (0, ""), "status": (0, ""), "explain": (0, ""), "prompt": (0, ""), "validate": (1, "exploit")}),
]

OUTPUT_CASES = [
    output_case("output-fifo", _both(lambda r, b: os.unlink(r / OUT_DIR / "quorum.md"), _fifo(f"{OUT_DIR}/quorum.md")),
                FIFO),
    output_case("output-socket", _socket(f"{OUT_DIR}/quorum.md"), SOCKET),
    output_case("output-symlink-loop", _loop(f"{OUT_DIR}/quorum.md"), LOOP),
    output_case("output-unreadable", _unreadable(f"{OUT_DIR}/quorum.md"), DENIED),
    output_case("output-over-size-limit", _sparse(f"{OUT_DIR}/quorum.md", 2 << 20), "over the 1 MiB limit"),
    output_case("output-over-line-limit", _output_is(front_matter_document("") + "x\n" * 25_000),
                "over the 20,000-line limit"),
    output_case("output-link-to-dev-zero", _link(f"{OUT_DIR}/quorum.md", "/dev/zero"), "does not name a file inside",
                also={"check": (2, "resolves outside the Output Directory"), "prompt": (2, "resolves outside")}),
    output_case("output-alias-bomb", _output_is(front_matter_document(alias_bomb())), BOMB),
    output_case("output-alias-cycle", _output_is(front_matter_document("loop: &me {self: *me}")), "contains itself"),
    output_case("output-deep-nesting", _output_is(front_matter_document("deep: " + "{a: " * 2000 + "}" * 2000)),
                "nest"),
    output_case("output-many-keys", _output_is(front_matter_document("\n".join(f"k{n}: v" for n in range(15_000)))),
                "more than the 10,000 a front matter block may hold"),
    output_case("output-binary", _output_is(_random_bytes(256 << 10, 3)), UTF8),
    output_case("output-nul-bytes", _output_is(b"\x00" * (512 << 10)), "front matter"),
    output_case("output-huge-single-line", _output_is(front_matter_document("") + "z" * 1_000_000), ""),
    output_case("output-many-headings", _output_is(front_matter_document("") + "## x\n" * 19_000), ""),
    output_case("output-python-tag", _output_is(front_matter_document(
        "exploit: !!python/object/apply:os.system ['touch pwned']")), ""),
]

TRACKING_CASES = [
    tracking_case("tracking-fifo", _fifo(TRACKING), FIFO),
    tracking_case("tracking-link-to-dev-zero", _link(TRACKING, "/dev/zero"), DEVICE),
    tracking_case("tracking-symlink-loop", _loop(TRACKING), LOOP),
    tracking_case("tracking-over-size-limit", _sparse(TRACKING, 17 << 20), "over the 16 MiB limit"),
    tracking_case("tracking-unreadable", _unreadable(TRACKING), DENIED),
    tracking_case("tracking-is-a-folder", lambda r, b: (r / TRACKING).mkdir(), "folder"),
    Case("tracking-alias-bomb", _write(TRACKING, alias_bomb() + "\noutputs: []\n"),
         {"check": (0, ""), "validate": (1, "not registered"), "record": (0, "")}),
    Case("tracking-deep-nesting", _write(TRACKING, "outputs: " + "[" * 3000 + "]" * 3000 + "\n"),
         {"check": (0, ""), "record": (1, "nests lists or mappings deeper")}),
]

CONFIG_CASES = [
    Case("models-variable-names-a-fifo", _fifo("models.toml"),
         {"check": (2, "is not a regular file"), "prompt": (2, "ORCHESTRATE_MODELS"), "run": (2, "ORCHESTRATE_MODELS")},
         env={"ORCHESTRATE_MODELS": "models.toml"}),
    Case("models-toml-over-size-limit", _sparse("plans/orchestrate.toml", 2 << 20),
         {"check": (2, "over the 1 MiB limit"), "prompt": (2, "over the 1 MiB limit"), "run": (2, "1 MiB")}),
    Case("models-context-tokens-zero", _write("plans/orchestrate.toml", "[models.haiku]\ncontext_tokens = 0\n"),
         {"check": (2, "context_tokens must be a positive"), "run": (2, "context_tokens")}),
]

CASES = PLAN_CASES + REFERENCE_CASES + OUTPUT_CASES + TRACKING_CASES + CONFIG_CASES

#: (case, command) pairs that still fail in code outside the input layer, and where. Each is
#: checked to fail exactly so (strict): when the gap is closed the test says to remove it here.
KNOWN_GAPS: dict[tuple[str, str], str] = {}
