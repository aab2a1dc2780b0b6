"""The crash, fault and concurrency campaign: projects, runs in child processes, invariants.

A *project* is a folder with a 36-row plan (by default), its format
reference and an Output Directory. Each run is a real ``orchestrate run``
child process (``python -m orchestrator``) talking to a simulator that runs
in the test's own process, so :class:`~orchestrator.sim.server.SimServer`'s
counters (``stats``) are the bill to compare the ledger with.

:func:`check` states the invariants the campaign asserts after each round:

* every Status cell is ``pending`` or ``complete``, and a complete row has
  its output on disk, a valid document (front matter, the three sections),
  registered in the tracking file with the output's sha256;
* no temporary file (``.NAME.PID-TOKEN.tmp``) is left anywhere in the
  project, and no output file is partial (each one validates);
* the ledger is the bill: every answered call the simulator billed is in
  the ledger, except those in flight when a run was killed (at most the
  worker count per kill) or given up on by the client (timeouts); every
  ledger line's tokens were billed (ledger ≤ billed, equal without kills);
* no response paid for twice: after a ledger line that validated (``ok``)
  no later call is made for that item;
* no item called more often in one run than its attempts allow.

:func:`check_final` adds, after a free rerun: every row complete with a valid
output, or pending with a reason in Run Notes.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from orchestrator.dispatch.jobs import DispatchSettings
from orchestrator.sim import server as sim_server
from orchestrator.sim.config import SimConfig, parse_pairs
from orchestrator.sim.server import SimServer

REPO = Path(__file__).resolve().parents[2]
BATCH = "plan-phase1"
TEMP_NAME = re.compile(r"^\..+\.\d+-[0-9a-f]{12}\.tmp$")
SECTIONS = ["Definition", "Details", "Related Terms"]
#: the environment variable of :mod:`orchestrator.recorder.crashpoint`
CRASH_VARIABLE = "ORCHESTRATE_CRASH_AT"

REFERENCE = """---
term: Idempotency
category: Reliability
tags: [distributed-systems, reliability, api-design]
---

## Definition

An operation is idempotent if performing it more than once produces the same effect as performing it
exactly once.

## Details

| Aspect | Value |
|--------|-------|
| Typical mechanism | A client-supplied idempotency key the server deduplicates against |

## Related Terms

Exactly-once delivery tries to guarantee an operation happens once at the transport level.
"""

PLAN_HEAD = """# Batch Creation Plan

## Format Reference
ref/idempotency.md

## Output Directory
output/

## Content Rules
- Every output needs front matter: term, category, tags
- category must be one of: Consistency, Concurrency, Scalability, Reliability
- Include Definition, Details, and Related Terms sections, in that order
- Blank line before every markdown table

## Validation Checklist
1. Front matter includes term, category, and at least 2 tags
2. category is one of the four values listed in Content Rules
3. Definition, Details, and Related Terms sections present, in that order
4. Output registered in output/tracking.yaml

## Editor Log
- edit 0

"""


def phase_table(phase: int, rows: range) -> str:
    lines = [f"## Phase {phase}", "| # | Title | Filename | Model | Status |", "|---|---|---|---|---|"]
    lines += [f"| {i} | Term number {i} | term-{i:05d}.md | haiku | pending |" for i in rows]
    return "\n".join(lines) + "\n"


@dataclass
class Project:
    """One plan under test, its folders and what its files say now."""

    root: Path

    @property
    def plan(self) -> Path:
        return self.root / "plan.md"

    @property
    def outputs(self) -> Path:
        return self.root / "output"

    def batch_dir(self, phase: int = 1) -> Path:
        return self.root / "data" / f"plan-phase{phase}"

    def ledger(self, phase: int = 1) -> list[dict[str, Any]]:
        path = self.batch_dir(phase) / "ledger.jsonl"
        if not path.exists():
            return []
        lines = []
        for raw in path.read_bytes().splitlines():
            try:
                lines.append(json.loads(raw))
            except ValueError:
                continue  # a line cut by a kill: readers skip it
        return lines

    def rows(self) -> dict[tuple[int, str], Any]:
        from orchestrator.plan.parser import read_plan

        return {(row.phase, row.id): row for row in read_plan(self.plan).rows()}

    def tracking(self) -> dict[str, dict[str, Any]]:
        path = self.outputs / "tracking.yaml"
        if not path.exists():
            return {}
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        entries = data.get("outputs", data) if isinstance(data, dict) else data
        found: dict[str, dict[str, Any]] = {}
        for entry in entries or []:
            if isinstance(entry, dict) and "path" in entry:
                found[Path(str(entry["path"])).name] = entry
        return found

    def temp_files(self) -> list[Path]:
        return sorted(p for p in self.root.rglob(".*") if p.is_file() and TEMP_NAME.match(p.name))


def make_project(root: Path, rows: int = 36, phases: int = 1) -> Project:
    (root / "ref").mkdir(parents=True)
    (root / "ref" / "idempotency.md").write_text(REFERENCE)
    per = rows // phases
    tables = [phase_table(p, range(1 + (p - 1) * per, 1 + p * per)) for p in range(1, phases + 1)]
    (root / "plan.md").write_text(PLAN_HEAD + "\n".join(tables))
    return Project(root)


# --- the simulator and the runs ------------------------------------------------------------------


@contextmanager
def simulator(config: str = "") -> Iterator[SimServer]:
    """A simulator in this process (its ``stats`` are the bill), fast answers by default.

    Two settings of this process's simulator threads, not of the product: the
    answer's header and body leave in two ``send`` calls, so without
    ``TCP_NODELAY`` every call waits ~40 ms for the client's delayed ACK (a
    36-row estimate alone took 3 s); and a run SIGKILLed mid-call resets its
    connections, which the server would print as tracebacks.
    """
    server = SimServer(SimConfig(**{**parse_pairs("seed=7,latency_ms=5,retry_after_ms=20"), **parse_pairs(config)}))
    nagle = sim_server._Handler.disable_nagle_algorithm
    sim_server._Handler.disable_nagle_algorithm = True
    server.start()
    assert server._httpd is not None
    server._httpd.handle_error = _quiet_reset  # type: ignore[method-assign]
    try:
        yield server
    finally:
        server.stop()
        sim_server._Handler.disable_nagle_algorithm = nagle


def _quiet_reset(request: object, client_address: object) -> None:
    kind = sys.exc_info()[0]
    if kind is not None and issubclass(kind, ConnectionError | TimeoutError):
        return  # a killed client: expected in this campaign
    import traceback

    traceback.print_exc()


@dataclass
class RunResult:
    code: int  # negative: killed by that signal
    out: str
    err: str
    seconds: float
    killed: bool = False
    pid: int = 0


@dataclass
class Campaign:
    """The runs made on one project, for the invariants (ledger lines per run, kills)."""

    project: Project
    server: SimServer
    workers: int = 4
    phase: int = 1
    env: dict[str, str] = field(default_factory=dict)
    runs: list[RunResult] = field(default_factory=list)
    #: ledger length before each run (so lines can be told apart by run)
    marks: list[int] = field(default_factory=list)
    kills: int = 0
    given_up: int = 0  # calls the client abandoned (timeouts) the simulator may still bill

    def argv(self, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "orchestrator", "run", str(self.project.plan), "--phase", str(self.phase),
            "--provider", "sim", "--yes", "--workers", str(self.workers), *extra,
        ]

    def child_env(self, crash_at: str | None = None) -> dict[str, str]:
        env = {**os.environ, "ORCHESTRATE_SIM_URL": self.server.url, **self.env}
        env.pop(CRASH_VARIABLE, None)
        if crash_at:
            env[CRASH_VARIABLE] = crash_at
        return env

    def start(self, crash_at: str | None = None, *extra: str) -> subprocess.Popen[str]:
        self.marks.append(len(self.project.ledger(self.phase)))
        return subprocess.Popen(
            self.argv(*extra), cwd=self.project.root, env=self.child_env(crash_at),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )

    def finish(self, proc: subprocess.Popen[str], started: float, *, timeout: float = 120) -> RunResult:
        out, err = proc.communicate(timeout=timeout)
        result = RunResult(
            proc.returncode, out, err, time.monotonic() - started, proc.returncode == -signal.SIGKILL, proc.pid
        )
        self.kills += result.killed
        self.runs.append(result)
        return result

    def run(
        self,
        *,
        kill_after: float | None = None,
        crash_at: str | None = None,
        kill_while_paying: float | None = None,
        timeout: float = 120,
    ) -> RunResult:
        """One ``orchestrate run``: to its end, or SIGKILLed.

        ``kill_after``: that many seconds after its start; ``kill_while_paying``:
        that many seconds after its first new ledger line (calls are in flight);
        ``crash_at``: at an instrumented instant (``NAME:N``).
        """
        started = time.monotonic()
        ledger = self.project.batch_dir(self.phase) / "ledger.jsonl"
        size = ledger.stat().st_size if ledger.exists() else 0
        proc = self.start(crash_at)
        if kill_while_paying is not None:
            while proc.poll() is None and (ledger.stat().st_size if ledger.exists() else 0) <= size:
                time.sleep(0.01)
            kill_after = time.monotonic() - started + kill_while_paying
        if kill_after is not None:
            try:
                proc.wait(timeout=max(0.0, kill_after - (time.monotonic() - started)))
            except subprocess.TimeoutExpired:
                proc.kill()
        return self.finish(proc, started, timeout=timeout)


# --- the invariants --------------------------------------------------------------------------------


def document_problems(text: str) -> list[str]:
    """Why ``text`` is not a complete output (empty: it is one)."""
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    if not match:
        return ["no front matter"]
    try:
        front = yaml.safe_load(match.group(1))
    except yaml.YAMLError:
        return ["front matter is not YAML"]
    problems = [] if isinstance(front, dict) and {"term", "category", "tags"} <= set(front) else ["front matter keys"]
    headings = re.findall(r"^## (.+)$", match.group(2), re.MULTILINE)
    if headings != SECTIONS:
        problems.append(f"sections {headings}")
    return problems


def _sha256(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Check:
    """What :func:`check` found (``problems`` empty: every invariant held)."""

    problems: list[str] = field(default_factory=list)
    complete: int = 0
    pending: int = 0
    ledger_answered: int = 0
    billed: int = 0

    def fail(self, text: str) -> None:
        self.problems.append(text)


def check(camp: Campaign, *, settings: DispatchSettings | None = None, phases: tuple[int, ...] = (1,)) -> Check:
    """The invariants that hold after any run, killed or not (see the module docstring)."""
    found = Check()
    project = camp.project
    rows = project.rows()
    tracking = project.tracking()
    for (_, row_id), row in rows.items():
        if row.status not in ("pending", "complete"):
            found.fail(f"row {row_id}: status {row.status_text!r}")
        out = project.outputs / row.filename
        if row.status == "complete":
            found.complete += 1
            if not out.is_file():
                found.fail(f"row {row_id} complete without its output {out.name}")
                continue
            entry = tracking.get(out.name)
            if entry is None:
                found.fail(f"row {row_id} complete but {out.name} is not in the tracking file")
            elif entry.get("sha256") != _sha256(out):
                found.fail(f"row {row_id}: tracking sha256 differs from {out.name}")
        else:
            found.pending += 1
        if out.is_file() and (bad := document_problems(out.read_text(encoding="utf-8", errors="replace"))):
            found.fail(f"{out.name} is partial or invalid: {bad}")
    # a killed run leaves its own temporary files (and, killed before its start-up sweep, those of the
    # runs killed before it); the next run that gets going removes every one
    killed: set[int] = set()
    for run in reversed(camp.runs):
        if not run.killed:
            break
        killed.add(run.pid)
    for temp in project.temp_files():
        if not any(f".{pid}-" in temp.name for pid in killed):
            found.fail(f"temporary file left: {temp.relative_to(project.root)}")
    _check_ledger(camp, found, settings or DispatchSettings(), phases)
    for phase in phases:
        _check_responses_in_ledger(project, phase, found)
    return found


def _check_responses_in_ledger(project: Project, phase: int, found: Check) -> None:
    """A response checkpoint never exists without the ledger line that holds it."""
    import hashlib

    paid: set[tuple[str, str]] = set()
    for line in project.ledger(phase):
        if isinstance(line.get("response"), str):
            paid.add((str(line["key"]), hashlib.sha256(line["response"].encode()).hexdigest()))
    for meta_path in sorted(project.batch_dir(phase).glob("item-*/response.json")):
        response = meta_path.with_name("response.md")
        if not response.exists():
            continue
        key = meta_path.parent.name
        if (key, _sha256(response)) not in paid:
            found.fail(f"{key}: response.md has no ledger line holding it")


def _check_ledger(camp: Campaign, found: Check, settings: DispatchSettings, phases: tuple[int, ...]) -> None:
    lines = [line for phase in phases for line in camp.project.ledger(phase)]
    answered = [line for line in lines if line.get("stop_reason")]
    found.ledger_answered = len(answered)
    snap = camp.server.stats.snapshot()
    found.billed = snap.messages_created
    lost = snap.messages_created - len(answered)
    allowed = camp.kills * camp.workers + camp.given_up
    if lost < 0:
        found.fail(f"the ledger holds {len(answered)} answered calls, the simulator billed {snap.messages_created}")
    elif lost > allowed:
        found.fail(f"{lost} billed responses are not in the ledger (at most {allowed} were in flight at kills)")
    tokens = {
        name: sum(int((line.get("usage") or {}).get(name, 0)) for line in answered)
        for name in ("input_tokens", "output_tokens")
    }
    billed = {"input_tokens": snap.input_tokens, "output_tokens": snap.output_tokens}
    for name, value in tokens.items():
        if value > billed[name] or (allowed == 0 and value != billed[name]):
            found.fail(f"ledger {name} {value} vs billed {billed[name]}")
    # no response paid for twice: nothing is called for an item after a response that validated
    done_at: dict[str, int] = {}
    for number, line in enumerate(lines):
        key = str(line.get("key"))
        if key in done_at:
            found.fail(f"item {key} called again (ledger line {number + 1}) after its valid response")
        if line.get("outcome") == "ok":
            done_at[key] = number
    # attempts per item per run
    if len(phases) == 1:
        marks = [*camp.marks, len(lines)]
        for start, end in itertools.pairwise(marks):
            run_lines = lines[start:end]
            per_run: Counter[str] = Counter(str(line.get("key")) for line in run_lines if line.get("stop_reason"))
            for key, count in per_run.items():
                if count > 1 + settings.repair_attempts:
                    found.fail(f"item {key}: {count} responses in one run (1 + {settings.repair_attempts} allowed)")
            failed: defaultdict[str, int] = defaultdict(int)
            for line in lines[start:end]:
                if not line.get("stop_reason"):
                    failed[str(line.get("key"))] += 1
            limit = (1 + settings.repair_attempts) * (
                settings.max_retries + settings.timeout_retries + settings.connection_retries + 1
            )
            for key, count in failed.items():
                if count > limit:
                    found.fail(f"item {key}: {count} failed attempts in one run (at most {limit})")


def check_final(camp: Campaign, **kwargs: Any) -> Check:
    """:func:`check`, and every row complete, or pending with a reason in Run Notes."""
    found = check(camp, **kwargs)
    text = camp.project.plan.read_text(encoding="utf-8")
    notes = text.split("## Run Notes", 1)[1] if "## Run Notes" in text else ""
    for (_, row_id), row in camp.project.rows().items():
        if row.status == "pending" and not re.search(rf"\b{re.escape(row.filename)}\b|\brow {row_id}\b", notes):
            found.fail(f"row {row_id} pending without a reason in Run Notes")
    return found


# --- the crash campaign ----------------------------------------------------------------------------

#: faults every crash round runs with (the fault sweep varies them one by one)
CRASH_FAULTS = (
    "latency_ms=60,jitter_ms=40,p429=0.03,p529=0.03,p500=0.03,pdisconnect=0.02,ptruncated=0.05,pbad_enum=0.05"
)
#: instrumented instants and how many passes through each a run makes at most (36 rows)
CRASH_POINTS = {"temp": 60, "staged": 60, "replaced": 60, "plan": 2, "ledger": 20}


@dataclass
class Tally:
    """The figures of a campaign (for the report and docs/reliability.md)."""

    rounds: int = 0
    runs: int = 0
    kills: int = 0
    kills_random: int = 0
    kills_at: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    billed: int = 0
    rows_complete: int = 0
    rows_pending: int = 0
    problems: list[str] = field(default_factory=list)

    def add_faults(self, server: SimServer) -> None:
        self.faults.update(server.stats.snapshot().faults)


def crash_round(root: Path, rng: Any, kills: int, *, faults: str = CRASH_FAULTS, tally: Tally) -> Campaign:
    """One project: up to ``kills`` SIGKILLs (half at random instants, half instrumented), then a free rerun.

    Each run after a kill is the rerun of the one before; the invariants are
    checked after every run and, strongly, after the last.
    """
    project = make_project(root)
    with simulator(f"seed={rng.randrange(1 << 30)},{faults}") as server:
        camp = Campaign(project, server)
        for attempt in range(kills):
            if attempt % 2 == 0:  # a random instant: anywhere in the run, or while calls are in flight
                if rng.random() < 0.5:
                    result = camp.run(kill_after=rng.uniform(0.3, 4.0))
                else:
                    result = camp.run(kill_while_paying=rng.uniform(0.0, 1.0))
                tally.kills_random += result.killed
            else:
                point = rng.choice(sorted(CRASH_POINTS))
                result = camp.run(crash_at=f"{point}:{rng.randint(1, CRASH_POINTS[point])}")
                tally.kills_at[point] += result.killed
            _note(tally, camp, result, f"round {tally.rounds} run {attempt + 1}", check(camp))
            if not result.killed and project.rows() and all(r.status == "complete" for r in project.rows().values()):
                break
        result = camp.run()
        final = check_final(camp)
        _note(tally, camp, result, f"round {tally.rounds} final", final)
        if result.code != 0:
            tally.problems.append(f"round {tally.rounds} final run exited {result.code}: {result.err[-400:]}")
        tally.rows_complete += final.complete
        tally.rows_pending += final.pending
        tally.billed += server.stats.messages_created
        tally.add_faults(server)
    tally.rounds += 1
    tally.kills += camp.kills
    return camp


def _note(tally: Tally, camp: Campaign, result: RunResult, where: str, found: Check) -> None:
    tally.runs += 1
    if result.code not in (0, 1, -signal.SIGKILL):
        tally.problems.append(f"{where}: exit {result.code}: {result.err[-600:]}")
    tally.problems += [f"{where}: {problem}" for problem in found.problems]


# --- the fault sweep -------------------------------------------------------------------------------

#: kind -> (simulator settings at a rate, extra environment); ``{rate}`` is filled in by the sweep
FAULT_KINDS: dict[str, tuple[str, dict[str, str]]] = {
    "429": ("p429={rate},retry_after_ms=20", {}),
    "529": ("p529={rate}", {}),
    "500": ("p500={rate}", {}),
    "disconnect": ("pdisconnect={rate}", {}),
    # latency 40 ms +- a spread against a 0.15 s client timeout: {rate} of the calls time out (see fault_config)
    "timeout": ("latency_ms=40,jitter_ms={jitter}", {"ORCHESTRATE_TIMEOUT_S": "0.15"}),
    "truncation": ("ptruncated={rate}", {}),
    "never-valid": ("pnever_valid={rate},pbad_enum=0.3", {}),
}


def fault_config(kind: str, rate: float) -> tuple[str, dict[str, str]]:
    config, env = FAULT_KINDS[kind]
    # latency 40 + U(-J, J) ms is over the 150 ms timeout with probability (J - 110) / 2J = rate
    jitter = int(110 / max(0.05, 1 - 2 * min(rate, 0.45)))
    return config.format(rate=rate, jitter=jitter), env


@dataclass
class FaultRun:
    kind: str
    rate: float
    code: int
    found: Check
    injected: dict[str, int]
    given_up: int


def fault_run(root: Path, kind: str, rate: float, *, seed: int = 11, rows: int = 36, extra: str = "") -> FaultRun:
    """One run of ``rows`` rows under fault ``kind`` at ``rate`` (and ``extra`` settings); invariants after it."""
    config, env = fault_config(kind, rate)
    config = f"{config},{extra}" if extra else config
    project = make_project(root, rows=rows)
    with simulator(f"seed={seed},{config}") as server:
        camp = Campaign(project, server, env=env)
        result = camp.run()
        time.sleep(0.3)  # calls the client gave up on finish (and are billed) on the simulator's side
        camp.given_up = sum(1 for line in project.ledger() if line.get("outcome") == "timeout")
        found = check_final(camp)
        if result.code not in (0, 1):
            found.fail(f"exit {result.code}: {result.err[-600:]}")
        return FaultRun(kind, rate, result.code, found, dict(server.stats.snapshot().faults), camp.given_up)


# --- concurrent edits ------------------------------------------------------------------------------

EDIT = re.compile(r"^- edit (\d+)$", re.MULTILINE)
EDITOR = Path(__file__).with_name("plan_editor.py")


class Reader:
    """Reads the plan in a loop (a thread); notes any read older than a save the editor had logged."""

    def __init__(self, plan: Path, log: Path) -> None:
        import threading

        self.plan, self.log = plan, log
        self.stop = threading.Event()
        self.reads = 0
        self.older: list[tuple[int, int]] = []  # (saved before the read, newest edit the read showed)
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Reader:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self.stop.is_set():
            lines = self.log.read_text().split()
            saved = int(lines[-1]) if lines else 0
            text = self.plan.read_text(encoding="utf-8", errors="replace")
            if "## Phase 1" not in text:  # an in-place save caught half done: the log precedes the table
                continue
            self.reads += 1
            shown = max((int(n) for n in EDIT.findall(text)), default=0)
            if shown < saved:
                self.older.append((saved, shown))
            time.sleep(0.0005)


@dataclass
class EditedRun:
    """One run made while the editor saved every ``interval_ms`` (and its free rerun)."""

    result: RunResult
    rerun: RunResult
    saves: int
    reads: int
    older: list[tuple[int, int]]
    lost: list[int]
    statuses_after_run: set[str]
    billed_by_rerun: int
    final: Check


def edited_run(root: Path, *, mode: str = "both", interval_ms: float = 1, rows: int = 36) -> EditedRun:
    """A run with an editor saving the plan from its start to its end, a reader watching, then a free rerun."""
    project = make_project(root / "p", rows=rows)
    log = root / "editor.log"
    log.write_text("")
    with simulator("latency_ms=30") as server:
        camp = Campaign(project, server)
        editor = subprocess.Popen(
            [sys.executable, str(EDITOR), str(project.plan), "600", str(interval_ms), mode, str(log)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        try:
            with Reader(project.plan, log) as reader:
                result = camp.run()
        finally:
            editor.terminate()
            editor.wait(timeout=30)
        saves = len(log.read_text().split())
        kept = {int(n) for n in EDIT.findall(project.plan.read_text())}
        statuses = {row.status for row in project.rows().values()}
        billed = server.stats.messages_created
        rerun = camp.run()
        return EditedRun(
            result, rerun, saves, reader.reads, reader.older, sorted(set(range(saves + 1)) - kept), statuses,
            server.stats.messages_created - billed, check_final(camp),
        )
