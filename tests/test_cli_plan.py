"""The model-free commands: init, status, prompt, and their start-up cost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# the example plan of the AI Batch Generation Pipeline Template
EXAMPLE = Path(__file__).resolve().parent / "fixtures" / "template_example"


def orchestrate(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "orchestrator", *args],
        cwd=cwd or REPO, capture_output=True, text=True, timeout=60,
    )


@pytest.fixture()
def example_dir(tmp_path: Path) -> Path:
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE, target)
    return target


def test_prompt_row_2_reads_like_the_template(example_dir: Path) -> None:
    result = orchestrate("prompt", "plan.md", "--row", "2", cwd=example_dir)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert text.startswith("Read output/idempotency.md for structure, style, and front matter format.")
    assert "Produce output covering Quorum." in text
    assert "Follow these content rules: Every output needs front matter: term, category, tags;" in text
    assert "category must be one of: Consistency, Concurrency, Scalability, Reliability;" in text
    assert "Include Definition, Details, and Related Terms sections, in that order;" in text
    assert "Blank line before every markdown table." in text
    assert text.endswith("Write the output to output/quorum.md.")


def test_prompt_phase_resolves_the_orchestrator_prompt(example_dir: Path) -> None:
    result = orchestrate("prompt", "plan.md", "--phase", "1", cwd=example_dir)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert out.startswith("Read the plan at plan.md.")
    for step in ("ENUMERATE: Find every row in Phase 1 with Status = pending.", "DISPATCH:", "VALIDATE:",
                 "RECORD:"):
        assert step in out
    assert "Read output/idempotency.md for structure" in " ".join(out.split())
    assert "Write the output to output/[filename from plan]." in " ".join(out.split())
    assert "register each output in plan.tracking.yaml" in " ".join(out.split())
    assert "<" not in out, "no unresolved <placeholder> may remain"


def test_prompt_and_run_request_share_sentences(example_dir: Path) -> None:
    from orchestrator.plan.parser import read_plan
    from orchestrator.prompts import build_request, dispatch_prompt, plan_paths

    plan = read_plan(example_dir / "plan.md")
    row = plan.find_row("2")
    assert row is not None
    pasted = " ".join(dispatch_prompt(plan, row, plan_paths(plan)).split())
    request = build_request(plan, row, "REFERENCE TEXT")
    sent = " ".join(request.as_text().split())
    for sentence in pasted.split(". "):
        assert sentence.rstrip(".") in sent


def test_prompt_unknown_row_is_bad_input(example_dir: Path) -> None:
    result = orchestrate("prompt", "plan.md", "--row", "42", cwd=example_dir)
    assert result.returncode == 2
    assert "no row # 42" in result.stderr and "hint:" in result.stderr


def test_status_json_on_the_example() -> None:
    result = orchestrate("status", "plans/glossary.md", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["plan"] == "plans/glossary.md"
    assert [p["phase"] for p in data["phases"]] == [1, 2]
    assert data["phases"][0]["counts"] == {"complete": 1, "pending": 5}
    assert data["phases"][1]["counts"] == {"pending": 3}
    row = data["phases"][0]["rows"][1]
    assert row == {"id": "2", "title": "Quorum", "filename": "quorum.md", "model": "haiku",
                   "status": "pending", "line": 30, "simulated": False}  # issue 10: simulated rows are marked


def test_status_lowercases_statuses(tmp_path: Path) -> None:
    plan = (EXAMPLE / "plan.md").read_text().replace("| pending |", "| PENDING |", 1)
    (tmp_path / "plan.md").write_text(plan)
    data = json.loads(orchestrate("status", str(tmp_path / "plan.md"), "--json", "--phase", "1").stdout)
    assert data["phases"][0]["counts"] == {"complete": 1, "pending": 5}


def test_status_plain_lists_rows() -> None:
    result = orchestrate("status", "plans/glossary.md", "--phase", "2")
    assert result.returncode == 0
    assert result.stdout.splitlines()[0] == "Phase 2  (pending: 3)"
    assert "cap-theorem.md" in result.stdout


def test_status_missing_plan_is_bad_input(tmp_path: Path) -> None:
    result = orchestrate("status", str(tmp_path / "nope.md"))
    assert result.returncode == 2
    assert "plan file not found" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_copies_the_example_and_it_checks_clean(tmp_path: Path) -> None:
    result = orchestrate("init", str(tmp_path / "demo"))
    assert result.returncode == 0, result.stderr
    plan = tmp_path / "demo" / "plans" / "glossary.md"
    assert plan.read_bytes() == (REPO / "plans" / "glossary.md").read_bytes()
    assert (tmp_path / "demo" / "format_refs" / "idempotency.md").is_file()
    check = orchestrate("check", str(plan))
    assert check.returncode == 0, check.stderr
    assert "OK" in check.stdout


def test_init_refuses_to_overwrite(tmp_path: Path) -> None:
    assert orchestrate("init", str(tmp_path)).returncode == 0
    edited = tmp_path / "plans" / "glossary.md"
    edited.write_text("mine")
    result = orchestrate("init", str(tmp_path))
    assert result.returncode == 2
    assert "already exists" in result.stderr
    assert edited.read_text() == "mine"


@pytest.mark.parametrize("command", ["status", "check"])
def test_fast_commands_import_no_sdk(command: str) -> None:
    probe = (
        "import sys\n"
        "from orchestrator.cli.main import main\n"
        "try:\n"
        f"    main([{command!r}, 'plans/glossary.md'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "heavy = [m for m in ('anthropic', 'httpx2', 'httpx', 'asyncio', 'aiolimiter', 'rich') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    env = {**os.environ, "TERM": "dumb"}
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, env=env,
                            timeout=60)
    assert "HEAVY=\n" in result.stdout or result.stdout.rstrip().endswith("HEAVY="), result.stdout


def test_every_command_has_help_with_an_example() -> None:
    from orchestrator.cli.main import COMMANDS

    for name in COMMANDS:
        result = orchestrate(name, "--help")
        assert result.returncode == 0, (name, result.stderr)
        assert "Example" in result.stdout or "example" in result.stdout, name


@pytest.mark.parametrize("command", [["check"], ["status"], ["prompt", "--phase", "1"]])
def test_a_folder_instead_of_a_plan_names_the_plans_inside(tmp_path: Path, command: list[str]) -> None:
    assert orchestrate("init", str(tmp_path / "demo")).returncode == 0
    result = orchestrate(command[0], str(tmp_path / "demo"), *command[1:])
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'demo'}: is a folder, not a plan file" in result.stderr
    hint = result.stderr.split("hint:", 1)[1]
    assert str(tmp_path / "demo" / "plans" / "glossary.md") in hint
    assert "format_refs" not in hint  # a format reference is not a plan


def test_an_unreadable_plan_is_bad_input_with_a_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orchestrator.errors import PlanError
    from orchestrator.plan.parser import read_plan

    plan = tmp_path / "plan.md"
    plan.write_text("# plan\n")

    import orchestrator.safeio

    real_open = orchestrator.safeio.os.open

    def denied(name: str | Path, flags: int, *args: int) -> int:
        if Path(name) == plan:
            raise PermissionError(13, "Permission denied", str(name))
        return real_open(name, flags, *args)

    monkeypatch.setattr(orchestrator.safeio.os, "open", denied)  # plans are read through safeio
    with pytest.raises(PlanError) as err:
        read_plan(plan)
    assert err.value.exit_code == 2
    assert "permission denied" in err.value.message
    assert err.value.hint and "permissions" in err.value.hint


def test_a_symlinked_plan_resolves_paths_from_its_real_folder(example_dir: Path, tmp_path: Path) -> None:
    """check, status and prompt see the same folder as run and the recorder: the real file's."""
    links = tmp_path / "links"
    links.mkdir()
    (links / "plan.md").symlink_to(example_dir / "plan.md")
    check = orchestrate("check", "links/plan.md", cwd=tmp_path)
    assert check.returncode == 0, check.stderr  # the format reference is found beside the real plan
    prompt = orchestrate("prompt", "links/plan.md", "--row", "2", cwd=tmp_path)
    assert prompt.returncode == 0, prompt.stderr
    assert " ".join(prompt.stdout.split()).endswith("Write the output to example/output/quorum.md.")
