"""``check`` holds the format reference to its own plan's rules (issue 10, finding 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
from clikit import copy_example, orchestrate

from orchestrator.models import load_model_table
from orchestrator.plan.check import check_plan
from orchestrator.plan.parser import read_plan


@pytest.fixture
def plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return copy_example(tmp_path)


def edit_reference(plan: Path, old: str, new: str) -> Path:
    reference = plan.parent.parent / "format_refs" / "idempotency.md"
    text = reference.read_text(encoding="utf-8")
    assert old in text
    reference.write_text(text.replace(old, new, 1), encoding="utf-8")
    return reference


def test_the_shipped_example_passes(plan: Path) -> None:
    result = orchestrate("check", str(plan))
    assert result.code == 0, result.err


def test_a_misspelled_required_key_is_an_error_at_the_references_line(plan: Path) -> None:
    reference = edit_reference(plan, "category: Reliability", "categry: Reliability")
    result = orchestrate("check", str(plan))
    assert result.code == 2
    assert f"{reference}:5: the format reference fails its plan's check [frontmatter.required_keys]" in result.err
    assert "missing the required key 'category'" in result.err
    assert "the rule at glossary.md:14, glossary.md:20" in result.err  # the two plan lines asking for it


def test_a_value_the_plan_does_not_allow_is_reported_at_its_line(plan: Path) -> None:
    reference = edit_reference(plan, "category: Reliability", "category: Reliable")
    result = orchestrate("check", str(plan))
    assert result.code == 2
    assert f"{reference}:3: the format reference fails its plan's check [frontmatter.allowed_values]" in result.err


def test_a_section_the_rules_require_but_the_reference_lacks(plan: Path) -> None:
    reference = edit_reference(plan, "## Related Terms", "## See Also")
    problems = check_plan(read_plan(plan), load_model_table(plan.parent))
    found = [p for p in problems if p.path == reference]
    assert [p.message.split("]")[0] for p in found] == ["the format reference fails its plan's check [sections.present"]
    assert "Related Terms" in found[0].message and found[0].line is not None


def test_the_lint_command_and_registration_are_not_held_against_the_reference(
    plan: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The example names `pymarkdown` and a tracking file that does not exist yet: still OK."""
    monkeypatch.setenv("ORCHESTRATE_TRUST_PLAN", "1")
    monkeypatch.setenv("PATH", str(plan.parent))  # no linter anywhere
    problems = check_plan(read_plan(plan), load_model_table(plan.parent))
    assert problems == []


def test_commands_that_load_the_plan_refuse_it(plan: Path) -> None:
    """Every command loads the plan through ``load_checked_plan``: `prompt` here, `run` the same way."""
    edit_reference(plan, "category: Reliability", "categry: Reliability")
    result = orchestrate("prompt", str(plan), "--row", "2")
    assert result.code == 2 and "[frontmatter.required_keys]" in result.err
    assert result.out == ""
