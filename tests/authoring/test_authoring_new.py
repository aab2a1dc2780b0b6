"""``orchestrate new``: a plan derived from a reference that ``check`` accepts and ``explain`` shows compiled."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from authorkit import REPO, orchestrate

THIRD_REFERENCE = """\
---
title: Rotate the signing keys
owner: platform
severity: high
steps: [revoke, issue, deploy]
---

# Rotate the signing keys

## Summary

When and why the keys are rotated.

## Procedure, step by step

| Step | Who |
|------|-----|
| Revoke | On-call |

## Rollback

Re-enable the previous key.
"""


def _new(tmp_path: Path, reference: Path, *extra: str) -> Path:
    plan = tmp_path / "plans" / "new-plan.md"
    result = orchestrate("new", str(plan), "--reference", str(reference), *extra)
    assert result.code == 0, result.err
    assert f"wrote {plan}" in result.out
    return plan


@pytest.mark.parametrize("reference", [REPO / "format_refs" / "idempotency.md",
                                       REPO / "format_refs" / "recipe-card.md", None])
def test_new_writes_a_plan_that_check_accepts_and_explain_shows_compiled(tmp_path: Path,
                                                                         reference: Path | None) -> None:
    if reference is None:
        reference = tmp_path / "refs" / "runbook.md"
        reference.parent.mkdir()
        reference.write_text(THIRD_REFERENCE)
    plan = _new(tmp_path, reference)
    check = orchestrate("check", str(plan), "--json")
    assert check.code == 0, check.out
    data = json.loads(check.out)
    assert data["ok"] and data["problems"] == [] and data["warnings"] == [] and data["unchecked_rules"] == []
    explain = json.loads(orchestrate("explain", str(plan), "--json").out)
    assert explain["rules"] and all(r["checks"] for r in explain["rules"]), explain["rules"]
    assert [(m["kind"], m["model"]) for m in explain["model_rules"]] == [("default", "haiku")]
    text = plan.read_text()
    assert "## Phase 1\n| # | Title | Filename | Model | Status |\n|---|" in text
    ref_rel = Path("..") / reference.relative_to(tmp_path) if reference.is_relative_to(tmp_path) else None
    if ref_rel is not None:
        assert f"## Format Reference\n{ref_rel.as_posix()}\n" in text


def test_new_states_the_references_keys_sections_and_a_block_to_fill_in(tmp_path: Path) -> None:
    plan = _new(tmp_path, REPO / "format_refs" / "recipe-card.md")
    text = plan.read_text()
    assert "- Every output needs front matter: dish, cuisine, difficulty, serves, ingredients\n" in text
    assert "- Include Ingredients, Method, and Notes sections, in that order\n" in text
    assert "- Blank line before every markdown table\n" in text
    assert "<!-- TO FILL IN" in text and "- cuisine must be one of: VALUE, VALUE\n" in text
    assert "- serves must be one of" not in text  # a number is not a category
    assert "3. Output registered in output/new-plan/tracking.yaml" in text
    # the block to fill in is neither a rule nor sent in prompts until filled in
    prompt = orchestrate("prompt", str(plan), "--phase", "1")
    assert prompt.code == 0, prompt.err
    assert "VALUE" not in prompt.out


def test_new_quotes_a_section_name_with_a_comma(tmp_path: Path) -> None:
    reference = tmp_path / "runbook.md"
    reference.write_text(THIRD_REFERENCE)
    text = _new(tmp_path, reference).read_text()
    assert "Include Summary, `Procedure, step by step`, and Rollback sections, in that order" in text


def test_new_with_an_output_dir_writes_it_relative_to_the_plan(tmp_path: Path) -> None:
    out = tmp_path / "site" / "docs"
    plan = _new(tmp_path, REPO / "format_refs" / "idempotency.md", "--output-dir", str(out))
    assert "## Output Directory\n../site/docs/\n" in plan.read_text()


def test_new_never_overwrites_and_refuses_a_bad_reference(tmp_path: Path) -> None:
    plan = tmp_path / "plan.md"
    plan.write_text("mine\n")
    result = orchestrate("new", str(plan), "--reference", str(REPO / "format_refs" / "idempotency.md"))
    assert result.code == 2 and "never overwrites" in result.err and "hint:" in result.err
    assert plan.read_text() == "mine\n"
    missing = tmp_path / "other.md"
    result = orchestrate("new", str(missing), "--reference", str(tmp_path / "nope.md"))
    assert result.code == 2 and "format reference not found" in result.err
    assert not missing.exists()
    broken = tmp_path / "broken.md"
    broken.write_text("---\nterm: [unclosed\n---\n\n## A\n")
    result = orchestrate("new", str(missing), "--reference", str(broken))
    assert result.code == 2 and "front matter is unusable" in result.err and not missing.exists()
