"""orchestrate explain / validate: output, JSON shape, exit codes, --trust-plan and --record."""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from orchestrator.cli.main import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


@pytest.fixture
def plan(make_plan: Callable[..., Path]) -> Path:
    return make_plan(
        rules=(
            "Every output needs front matter: term, category, tags",
            "category must be one of: Consistency, Reliability",
            "Be witty",
        ),
        checklist=("Front matter includes term, category, and at least 2 tags",),
    )


def test_explain_lists_every_line_and_what_it_became(plan: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "explain", str(plan))
    assert code == 0
    assert "4 line(s): 3 compiled into checks, 1 not machine-checked" in out
    assert "-> frontmatter.present, frontmatter.allowed_values" in out
    assert "Be witty\n        NOT machine-checked: no known phrasing" in out
    assert "From the format reference" in out


def test_explain_json(plan: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "explain", str(plan), "--json")
    data = json.loads(out)
    assert code == 0
    assert [r["checks"] is None for r in data["rules"]] == [False, False, True, False]
    assert data["rules"][2]["reason"].startswith("no known phrasing")


def test_validate_passing_failing_and_missing(
    plan: Path, tmp_path: Path, good_output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "out" / "idempotency.md").write_text(good_output, encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(plan))
    assert code == 0
    assert "PASS    phase 1 row 1" in out and "MISSING phase 1 row 2" in out
    assert "not machine-checked (1):" in out and "Be witty" in out
    (tmp_path / "out" / "quorum.md").write_text(good_output.replace("Consistency", "Consistent"), encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(plan))
    assert code == 1
    assert "quorum.md:3: [frontmatter.allowed_values] category: 'Consistent' is not one of" in out


def test_validate_json_shape(plan: Path, tmp_path: Path, good_output: str, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "out" / "quorum.md").write_text(
        good_output.replace("tags: [distributed-systems, reliability]", "tags: [one]"),
        encoding="utf-8",
    )
    code, out, _ = _run(capsys, "validate", str(plan), "--row", "2", "--json")
    data = json.loads(out)
    assert code == 1
    assert data["ok"] is False
    [entry] = data["files"]
    assert entry["row"] == "2" and entry["ok"] is False and entry["path"].endswith("quorum.md")
    failing = [c for c in entry["checks"] if not c["ok"]]
    assert [(c["name"], c["line"]) for c in failing] == [("frontmatter.min_items", 4)]
    assert [u["text"] for u in data["unchecked_rules"]] == ["Be witty"]


@pytest.mark.parametrize(("args", "words"), [(("--phase", "9"), "no Phase 9"), (("--row", "77"), "no row #77")])
def test_validate_bad_selection_exits_2(
    plan: Path, capsys: pytest.CaptureFixture[str], args: tuple[str, ...], words: str
) -> None:
    code, _, err = _run(capsys, "validate", str(plan), *args)
    assert code == 2
    assert words in err


def test_validate_missing_reference_exits_2(plan: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "ref" / "reference.md").unlink()
    code, _, err = _run(capsys, "validate", str(plan))
    assert code == 2 and "format reference not found" in err


def test_validate_trust_plan_runs_the_linter(
    make_plan: Callable[..., Path],
    tmp_path: Path,
    good_output: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    script = tmp_path / "fail.py"
    script.write_text("import sys\nprint('lint says no')\nsys.exit(3)\n", encoding="utf-8")
    plan = make_plan(checklist=(f"Linter passes: {shlex.quote(sys.executable)} {shlex.quote(str(script))} <filepath>",))
    (tmp_path / "out" / "quorum.md").write_text(good_output, encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(plan))
    assert code == 0 and "[lint.command] skipped:" in out
    code, out, _ = _run(capsys, "validate", str(plan), "--trust-plan")
    assert code == 1 and "exited 3:" in out and "lint says no" in out


def test_record_marks_passing_rows_complete_and_registers_them(
    make_plan: Callable[..., Path],
    tmp_path: Path,
    good_output: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Runs against the real recorder (orchestrator.recorder): never skipped."""
    plan = make_plan(
        checklist=("Output registered in out/tracking.yaml",),
        rows=("| 2 | Quorum | quorum.md | haiku | pending |\n| 3 | Bad | bad.md | haiku | pending |\n"),
    )
    (tmp_path / "out" / "quorum.md").write_text(good_output, encoding="utf-8")
    (tmp_path / "out" / "bad.md").write_text(good_output.replace("## Details", "## Detail"), encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(plan))
    assert code == 1 and "[tracking.registered]" in out
    code, out, _ = _run(capsys, "validate", str(plan), "--record")
    assert code == 1  # bad.md still fails
    assert "PASS    phase 1 row 2: " in out and "-> recorded complete" in out
    text = plan.read_text(encoding="utf-8")
    assert "| 2 | Quorum | quorum.md | haiku | complete |" in text
    assert "| 3 | Bad | bad.md | haiku | pending |" in text
    assert "quorum.md" in (tmp_path / "out" / "tracking.yaml").read_text(encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(plan), "--row", "2")
    assert code == 0


def test_filename_outside_the_output_directory_fails(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(rows="| 5 | Escape | ../../etc/passwd | haiku | pending |\n")
    code, out, _ = _run(capsys, "validate", str(plan), "--json")
    [entry] = json.loads(out)["files"]
    assert code == 1
    assert [c["name"] for c in entry["checks"]] == ["file.path"]


def test_phase_selection(make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan()
    text = plan.read_text(encoding="utf-8") + (
        "\n## Phase 2\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
        "| 9 | Later | later.md | sonnet | pending |\n"
    )
    plan.write_text(text, encoding="utf-8")
    code, out, _ = _run(capsys, "validate", str(plan), "--phase", "2", "--json")
    assert code == 0
    assert [f["row"] for f in json.loads(out)["files"]] == ["9"]


def test_shipped_recipes_plan_lists_its_judgement_rule(capsys: pytest.CaptureFixture[str]) -> None:
    recipes = Path(__file__).resolve().parents[2] / "plans" / "recipes.md"
    code, out, _ = _run(capsys, "explain", str(recipes), "--json")
    unchecked = [r["text"] for r in json.loads(out)["rules"] if r["checks"] is None]
    assert code == 0
    assert unchecked == ["Method steps are numbered and written in the imperative"]
