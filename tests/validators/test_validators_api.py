"""compile_plan and CompiledPlan: errors located, files on disk, reports as data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from orchestrator.validators import CompiledPlan, compile_plan

from orchestrator.errors import PlanError
from orchestrator.plan.parser import read_plan


def test_missing_reference_is_a_located_plan_error(make_plan: Callable[..., Path], tmp_path: Path) -> None:
    plan = make_plan()
    (tmp_path / "ref" / "reference.md").unlink()
    with pytest.raises(PlanError) as caught:
        compile_plan(read_plan(plan))
    assert "format reference not found" in caught.value.message
    assert caught.value.line == 4 and caught.value.path == plan
    assert caught.value.hint


def test_reference_with_broken_front_matter_is_a_plan_error(make_plan: Callable[..., Path]) -> None:
    plan = make_plan(reference="---\nterm: [a\n---\n\n## A\n")
    with pytest.raises(PlanError, match="front matter is unusable") as caught:
        compile_plan(read_plan(plan))
    assert str(caught.value.path).endswith("reference.md")


def test_missing_file_reports_file_exists(compiled: Callable[..., CompiledPlan], tmp_path: Path) -> None:
    report = compiled().validate_file(tmp_path / "out" / "nope.md")
    assert [(c.name, c.ok) for c in report.checks] == [("file.exists", False)]


def test_non_utf8_file_reports_file_readable(compiled: Callable[..., CompiledPlan], tmp_path: Path) -> None:
    plan = compiled()
    target = tmp_path / "out" / "q.md"
    target.write_bytes(b"---\nterm: caf\xe9\n---\n")
    failure = plan.validate_file(target).failures[0]
    assert (failure.name, failure.line) == ("file.readable", 2)


def test_report_as_dict_shape(compiled: Callable[..., CompiledPlan], good_output: str, tmp_path: Path) -> None:
    data = compiled().validate_text(good_output.replace("Consistency", "Nope"), path=tmp_path / "q.md").as_dict()
    assert data["ok"] is False and data["path"] == str(tmp_path / "q.md")
    checks = data["checks"]
    assert isinstance(checks, list)
    assert set(checks[0]) == {"name", "ok", "line", "message", "skipped", "kind"}


def test_failure_messages_are_self_contained(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    report = compiled().validate_text(good_output.replace("Consistency", "Consistent"), path=Path("q.md"))
    assert report.failure_messages() == [
        "line 3: [frontmatter.allowed_values] category: 'Consistent' is not one of "
        "Consistency, Concurrency, Scalability, Reliability (did you mean 'Consistency'?)"
    ]


def test_check_names_lists_what_will_run(compiled: Callable[..., CompiledPlan]) -> None:
    names = compiled().check_names()
    assert names[:3] == ["document.not_fenced", "frontmatter.present", "frontmatter.unique_keys"]
    assert "lint.command" not in names


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("-#|:` \n\r\tab[]{}'\"0")), max_size=200))
def test_any_text_gives_a_report_never_a_crash(text: str) -> None:
    plan = _shipped()
    report = plan.validate_text(text, path=Path("x.md"))
    assert isinstance(report.ok, bool)
    assert all(check.message for check in report.checks)


_CACHE: dict[str, CompiledPlan] = {}


def _shipped() -> CompiledPlan:
    if "g" not in _CACHE:
        _CACHE["g"] = compile_plan(read_plan(Path(__file__).resolve().parents[2] / "plans" / "glossary.md"))
    return _CACHE["g"]
