"""Every command, given hostile or mistaken input, fails the way the project promises.

For each case: exit 2 for bad input (1 for work that failed), no traceback, an
``error:`` line naming what is wrong and where (``file:line`` when there is a
line), a ``hint:`` line, and for bad input not one byte written in the folder
(the whole tree is compared, lock files included). Each case runs
``python -m orchestrator`` in its own copy of a folder made once by
``orchestrate init`` (and, for the damaged-batch cases, one run with the local
simulator); the commands of a case run in parallel to keep the sweep fast.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PLAN = "plans/glossary.md"
REF = "format_refs/idempotency.md"
BATCH = "plans/data/glossary-phase1"
ITEM = f"{BATCH}/item-0002"
_ISOLATED = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL", "ORCHESTRATE_MODELS",
             "ORCHESTRATE_SIM", "ORCHESTRATE_SIM_URL", "ORCHESTRATE_TRUST_PLAN")
Setup = Callable[[Path], None]


# --- running ----------------------------------------------------------------------


@dataclass
class Outcome:
    args: tuple[str, ...]
    code: int
    out: str
    err: str
    changed: list[str]


def _tree(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def _env(root: Path, extra: dict[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _ISOLATED}
    return {**env, "XDG_CONFIG_HOME": str(root / "xdg"), "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _orchestrate(cwd: Path, args: tuple[str, ...], env: dict[str, str] | None = None) -> Outcome:
    before = _tree(cwd)
    done = subprocess.run([sys.executable, "-m", "orchestrator", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=60, env=_env(cwd.parent, env or {}))
    after = _tree(cwd)
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k, b"-") != after.get(k, b"-"))
    return Outcome(args, done.returncode, done.stdout, done.stderr, changed)


def _copy(template: Path, dest: Path) -> Path:
    """A copy of ``template`` whose batch files name the copy, as if the batch had been made there."""
    shutil.copytree(template, dest)
    for path in (dest / BATCH).rglob("*") if (dest / BATCH).is_dir() else ():
        if path.is_file() and path.suffix in (".json", ".jsonl"):
            path.write_bytes(path.read_bytes().replace(str(template).encode(), str(dest).encode()))
    return dest


@pytest.fixture(scope="session")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("sweep-templates")
    init = root / "init"
    subprocess.run([sys.executable, "-m", "orchestrator", "init", str(init)], check=True, capture_output=True,
                   env=_env(root, {}))
    ran = root / "ran"
    shutil.copytree(init, ran)
    subprocess.run([sys.executable, "-m", "orchestrator", "run", PLAN, "--phase", "1", "--provider", "sim", "--yes"],
                   cwd=ran, check=True, capture_output=True, env=_env(root, {}))
    return {"init": init, "ran": ran}


def _write(rel: str, data: str | bytes) -> Setup:
    def setup(root: Path) -> None:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.encode() if isinstance(data, str) else data)

    return setup


def _edit_plan(old: str, new: str) -> Setup:
    def setup(root: Path) -> None:
        path = root / PLAN
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new), encoding="utf-8")

    return setup


def _plan_without_phases(root: Path) -> None:
    path = root / PLAN
    path.write_text(path.read_text(encoding="utf-8").split("## Phase 1")[0], encoding="utf-8")


def _plan_in_latin1(root: Path) -> None:
    path = root / PLAN
    path.write_bytes(path.read_text(encoding="utf-8").replace("Quorum", "Quor\u00e9m").encode("latin-1"))


def _folder_for(rel: str) -> Setup:
    def setup(root: Path) -> None:
        (root / rel).unlink()
        (root / rel).mkdir()

    return setup


# --- the cases --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """Commands that must all refuse the same bad input, and what their message must name."""

    id: str
    commands: tuple[tuple[str, ...], ...]
    where: str  # in the error line: the file (and line) or the option at fault
    setup: Setup | None = None
    template: str = "init"
    env: dict[str, str] = field(default_factory=dict)
    code: int = 2
    unaffected: tuple[tuple[str, ...], ...] = ()  # don't read the bad input: exit 0, write nothing


SIM = ("--provider", "sim")
PIPELINE = {
    "run": ("run", PLAN, "--phase", "1", *SIM, "--yes"),
    "all": ("all", PLAN, "--phase", "1", *SIM, "--yes"),
    "acquire": ("acquire", PLAN, "--phase", "1"),
    "prepare": ("prepare", PLAN, "--phase", "1"),
    "process": ("process", PLAN, "--phase", "1", *SIM, "--yes"),
    "parse": ("parse", PLAN, "--phase", "1"),
    "render": ("render", PLAN, "--phase", "1"),
    "estimate": ("estimate", PLAN, "--phase", "1"),
    "clean": ("clean", PLAN, "--phase", "1", "--clean-stage", "acquire", "--yes"),
}
READERS = {
    "check": ("check", PLAN),
    "status": ("status", PLAN),
    "prompt": ("prompt", PLAN, "--phase", "1"),
    "explain": ("explain", PLAN),
    "validate": ("validate", PLAN),
}
EVERY = {**READERS, **PIPELINE}


def _on(plan: str, names: str) -> tuple[tuple[str, ...], ...]:
    """The commands ``names`` with PLAN replaced by ``plan``."""
    return tuple(tuple(plan if a == PLAN else a for a in EVERY[n]) for n in names.split())


def _pick(names: str) -> tuple[tuple[str, ...], ...]:
    return _on(PLAN, names)


REF_LINE = f"{PLAN.split('/')[-1]}:8"
OUT_LINE = f"{PLAN.split('/')[-1]}:11"
PLAN_CASES = [
    Case("plan-missing", _on("plans/nope.md", " ".join(EVERY)), "nope.md"),
    Case("plan-is-a-folder", _on("plans", " ".join(EVERY)), "plans"),
    Case("plan-empty", _on("plans/empty.md", "check status explain run"),
         "empty.md:1", _write("plans/empty.md", "")),
    Case("plan-binary", _on("plans/bin.md", "check status validate render"),
         "bin.md:", _write("plans/bin.md", bytes(range(256)) * 4)),
    Case("plan-not-utf8", _pick("check prompt acquire"),
         "glossary.md:30", _plan_in_latin1),
    Case("plan-no-phases", _pick("check status prompt explain validate clean"),
         "glossary.md:1", _plan_without_phases),
    Case("reference-missing", _pick("check prompt explain estimate"), REF_LINE,
         _edit_plan("../format_refs/idempotency.md", "../format_refs/nope.md"), unaffected=_pick("status")),
    Case("reference-is-a-folder", _pick("prompt explain validate process"), REF_LINE,
         _edit_plan("../format_refs/idempotency.md", "../format_refs"), unaffected=_pick("status")),
    Case("reference-not-utf8", _pick("check validate acquire all"), REF_LINE,
         _write(REF, "---\nterm: Caf\u00e9\n---\n\n## Definition\n".encode("latin-1")), unaffected=_pick("status")),
    Case("reference-bad-front-matter", _pick("check prompt explain acquire"),
         "idempotency.md:3", _write(REF, "---\nterm: [unclosed\ncategory: : :\n---\n\n## Definition\n\nx\n"),
         unaffected=_pick("status")),
    Case("reference-front-matter-a-list", _pick("validate run"), "idempotency.md:2",
         _write(REF, "---\n- a\n- b\n---\n\n## Definition\n\nx\n")),
    Case("output-directory-is-a-file", _pick("check validate render"), OUT_LINE,
         _write("plans/output/glossary", "x"), unaffected=_pick("status explain")),
    Case("output-directory-under-a-file", _pick("prompt validate all estimate"), OUT_LINE,
         _write("plans/output", "x"), unaffected=_pick("explain")),
    Case("data-folder-is-a-file", _pick("run acquire clean"), "plans/data",
         _write("plans/data", "x"), unaffected=_pick("check")),
    Case("orchestrate-toml-bad-syntax", _pick("check prompt process"), "orchestrate.toml:1",
         _write("plans/orchestrate.toml", "[models\nx = 1\n"), unaffected=_pick("validate")),
    Case("orchestrate-toml-wrong-types", _pick("prompt acquire"), "orchestrate.toml",
         _write("plans/orchestrate.toml", "models = 3\n")),
]

OPTION_CASES = [
    Case("phase-0", (("status", PLAN, "--phase", "0"), ("acquire", PLAN, "--phase", "0")), "phase"),
    Case("phase-negative", (("validate", PLAN, "--phase", "-1"), ("clean", PLAN, "--phase", "-1", "--clean-stage",
                            "parse")), "-1"),
    Case("phase-99", (("prompt", PLAN, "--phase", "99"), ("run", PLAN, "--phase", "99", *SIM, "--yes")),
         "Phase 99"),
    Case("row-unknown", (("validate", PLAN, "--row", "77"), ("prompt", PLAN, "--row", "7", "--phase", "1")),
         "glossary.md"),
    Case("batch-id-with-slash", (("acquire", PLAN, "--phase", "1", "--batch-id", "a/b"),
                                 ("estimate", "--batch-id", "../x")), "invalid batch id"),
    Case("batch-id-dot-dot", (("run", PLAN, "--phase", "1", "--batch-id", ".."),),
         "invalid batch id '..'"),
    Case("batch-id-unknown", (("parse", "--batch-id", "nope"), ("clean", "--batch-id", "nope", "--clean-stage",
                              "render")), "nope"),
    Case("no-plan-no-batch", (("acquire",), ("estimate",)), "--batch-id"),
    Case("workers-limit-cost-zero", (("run", PLAN, "--phase", "1", "--workers", "0", *SIM, "--yes"),
                                     ("acquire", PLAN, "--phase", "1", "--limit", "0")), "0 is not in the range x>=1"),
    Case("max-cost-negative", (("run", PLAN, "--phase", "1", "--max-cost", "-1", *SIM, "--yes"),), "--max-cost"),
    Case("model-nonsense", (("run", PLAN, "--phase", "1", "--model", "nonsense", *SIM, "--yes"),), "nonsense"),
    Case("provider-nonsense", (("acquire", PLAN, "--phase", "1", "--provider", "nonsense"),
                               ("estimate", PLAN, "--phase", "1", "--provider", "nonsense")), "nonsense"),
    Case("sim-unknown-key", (("run", PLAN, "--phase", "1", *SIM, "--yes"), ("acquire", PLAN, "--phase", "1", *SIM)),
         "ORCHESTRATE_SIM",
         env={"ORCHESTRATE_SIM": "bogus=1"}),
    Case("sim-bad-value", (("estimate", PLAN, "--phase", "1", *SIM),),
         "ORCHESTRATE_SIM: p429", env={"ORCHESTRATE_SIM": "p429=7"}),
    Case("clean-stage-nonsense", (("clean", "--batch-id", "glossary-phase1", "--clean-stage", "nonsense"),),
         "--clean-stage"),
    Case("init-into-a-file", (("init", "afile"), ("init", "afile/sub")), "afile", _write("afile", "x")),
    Case("init-over-the-example", (("init", "."),), "already exists"),
    Case("init-claude-into-a-file", (("init-claude", "afile"), ("init-claude", "afile/sub")), "afile",
         _write("afile", "x")),
    Case("sim-port-out-of-range", (("sim", "serve", "--port", "99999"),), "--port"),
    Case("unknown-command", (("nosuch",),), "nosuch"),
]

_RAN = "ran"
BATCH_COMMANDS = {
    "run": ("run", "--batch-id", "glossary-phase1", "--yes"),
    "acquire": ("acquire", "--batch-id", "glossary-phase1"),
    "prepare": ("prepare", "--batch-id", "glossary-phase1"),
    "process": ("process", "--batch-id", "glossary-phase1", "--yes"),
    "parse": ("parse", "--batch-id", "glossary-phase1"),
    "render": ("render", "--batch-id", "glossary-phase1"),
    "estimate": ("estimate", "--batch-id", "glossary-phase1"),
    "all": ("all", PLAN, "--phase", "1", "--yes"),
}
CLEAN_PARSE = ("clean", "--batch-id", "glossary-phase1", "--clean-stage", "parse", "--yes")


def _batch(names: str) -> tuple[tuple[str, ...], ...]:
    return tuple(BATCH_COMMANDS[n] for n in names.split())


BATCH_CASES = [
    Case("batch-json-truncated", (*_batch("prepare all"), CLEAN_PARSE), "batch.json:1",
         _write(f"{BATCH}/batch.json", '{"batch_id": "glo'), _RAN),
    Case("batch-json-wrong-types", _batch("process render"), "batch.json",
         _write(f"{BATCH}/batch.json", '{"batch_id": ["x"], "plan": 5, "phase": "one", "report_dir": null}'), _RAN),
    Case("batch-json-bad-settings", _batch("estimate"), "batch.json",
         _write(f"{BATCH}/batch.json", '{"batch_id": "glossary-phase1", "plan": "../../glossary.md", "phase": 1, '
                '"report_dir": "../../output/glossary-phase1", "settings": {"provider": 7}}'), _RAN),
    Case("batch-json-a-list", _batch("acquire"), "batch.json", _write(f"{BATCH}/batch.json", "[1, 2]"), _RAN),
    Case("raw-json-truncated", _batch("prepare run"), "raw.json:1", _write(f"{ITEM}/raw.json", '{"input_hash": "a'),
         _RAN),
    Case("raw-json-wrong-types", _batch("acquire render"), "raw.json",
         _write(f"{ITEM}/raw.json", '{"input_hash": 5, "inputs": "x"}'), _RAN),
    Case("prompt-json-wrong-types", _batch("process estimate"), "prompt.json",
         _write(f"{ITEM}/prompt.json", '{"inputs": [1], "prompt_sha256": 3}'), _RAN),
    Case("prompt-md-not-utf8", _batch("process"), "prompt.md:1", _write(f"{ITEM}/prompt.md", b"caf\xe9\n"), _RAN),
    Case("response-json-truncated", _batch("process all"), "response.json:1",
         _write(f"{ITEM}/response.json", '{"inputs": {"req'), _RAN),
    Case("response-json-wrong-types", _batch("parse estimate"), "response.json",
         _write(f"{ITEM}/response.json", '{"inputs": {"request": 5}, "model_id": [1], "usage": "lots"}'), _RAN),
    Case("parsed-json-truncated", _batch("parse render"), "parsed.json:1", _write(f"{ITEM}/parsed.json", '{"ok": tr'),
         _RAN),
    Case("parsed-json-wrong-types", _batch("run"), "parsed.json",
         _write(f"{ITEM}/parsed.json", '{"ok": "yes", "inputs": 3, "checks": 7, "output": 5}'), _RAN),
    Case("ledger-wrong-types", _batch("run render"), "ledger.jsonl:2",
         _write(f"{BATCH}/ledger.jsonl", '{"key": "item-0002"}\n{"key": 3, "usage": "lots", "cost_usd": "much"}\n'),
         _RAN),
    Case("estimate-json-wrong-types", _batch("render"), "estimate.json",
         _write(f"{BATCH}/estimate.json", '{"cost_usd": "x", "items": "y"}'), _RAN),
    Case("batch-json-is-a-folder", _batch("prepare"), "glossary-phase1", _folder_for(f"{BATCH}/batch.json"), _RAN),
]


def _run_case(case: Case, templates: dict[str, Path], tmp_path: Path) -> list[tuple[Outcome, int]]:
    jobs = [(args, case.code) for args in case.commands] + [(args, 0) for args in case.unaffected]
    folders = []
    for index in range(len(jobs)):
        folder = _copy(templates[case.template], tmp_path / str(index) / "work")
        if case.setup is not None:
            case.setup(folder)
        folders.append(folder)
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda j: _orchestrate(j[1], j[0][0], case.env), zip(jobs, folders, strict=True)))
    return list(zip(outcomes, (code for _, code in jobs), strict=True))


def _problems(outcome: Outcome, code: int, where: str) -> list[str]:
    found = []
    text = outcome.out + outcome.err
    if outcome.code != code:
        found.append(f"exit {outcome.code}, expected {code}")
    if "Traceback" in text:
        found.append("a traceback")
    if outcome.changed and (code == 2 or code == 0):
        found.append(f"wrote {outcome.changed[:5]}")
    if code:
        lines = outcome.err.splitlines()
        # `error: file:line: ...`, or the located lines under `error: N problems in the plan:`
        # (`check` prints its problems without the prefix: they are its output)
        listed = outcome.args[0] == "check" or any(re.match(r"error: \d+ problems", line) for line in lines)
        errors = [line for line in lines if line.startswith("error:") or (listed and not line.startswith(" "))]
        if not any(where.lower() in line.lower() for line in errors):
            found.append(f"no error line naming {where!r}")
        if not any(line.lstrip().startswith("hint: ") for line in lines):
            found.append("no hint: line")
    return found


def _check(results: list[tuple[Outcome, int]], where: str) -> None:
    failures = [f"orchestrate {' '.join(o.args)}: {', '.join(p)}\n{o.err[-600:]}"
                for o, code in results if (p := _problems(o, code, where))]
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("case", PLAN_CASES + OPTION_CASES + BATCH_CASES, ids=lambda c: c.id)
def test_refused_cleanly(case: Case, templates: dict[str, Path], tmp_path: Path) -> None:
    _check(_run_case(case, templates, tmp_path), case.where)


def test_damaged_checkpoint_is_removed_by_clean(templates: dict[str, Path], tmp_path: Path) -> None:
    """The hint's remedy works: clean runs on a damaged batch and the next parse succeeds."""
    root = _copy(templates[_RAN], tmp_path / "work")
    damaged = root / ITEM / "parsed.json"
    damaged.write_text('{"ok": tr')
    refused = _orchestrate(root, BATCH_COMMANDS["parse"])
    assert refused.code == 2 and "clean --batch-id glossary-phase1 --clean-stage parse" in refused.err
    cleaned = _orchestrate(root, CLEAN_PARSE)
    assert cleaned.code == 0, cleaned.err
    assert not damaged.exists() and "Traceback" not in cleaned.out + cleaned.err
    assert _orchestrate(root, ("parse", "--batch-id", "glossary-phase1")).code == 0


def test_bad_tracking_file_fails_the_work_with_a_remedy(templates: dict[str, Path], tmp_path: Path) -> None:
    """Work that cannot be recorded is exit 1 (not 2: outputs were written), and the hint's remedy works."""
    root = _copy(templates[_RAN], tmp_path / "work")
    assert _orchestrate(root, CLEAN_PARSE).code == 0  # responses kept, outputs removed, rows pending again
    tracking = root / "plans/output/glossary/tracking.yaml"
    _write("plans/output/glossary/tracking.yaml", "entries: [unclosed\n  - : :\n")(root)
    failed = _orchestrate(root, BATCH_COMMANDS["parse"])
    _check([(failed, 1)], "tracking.yaml")
    tracking.write_text("entries: []\n")
    assert _orchestrate(root, ("validate", PLAN, "--phase", "1", "--record")).code == 0
    assert "quorum.md" in tracking.read_text()


def test_sim_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        (tmp_path / "work").mkdir()
        outcome = _orchestrate(tmp_path / "work", ("sim", "serve", "--port", port))
    _check([(outcome, 2)], port)
