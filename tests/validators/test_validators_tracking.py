"""tracking.registered: only on a written file, matched by the output's name as a whole token."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestrator.validators import CompiledPlan
from orchestrator.validators.tracking import is_registered

CHECK = ("Output registered in out/tracking.yaml",)


def test_skipped_before_the_write(compiled: Callable[..., CompiledPlan], tmp_path: Path, good_output: str) -> None:
    report = compiled(checklist=CHECK).validate_text(good_output, path=tmp_path / "out" / "q.md")
    check = next(c for c in report.checks if c.name == "tracking.registered")
    assert check.skipped and report.ok


def test_fails_until_registered(compiled: Callable[..., CompiledPlan], tmp_path: Path, good_output: str) -> None:
    plan = compiled(checklist=CHECK)
    output = tmp_path / "out" / "quorum.md"
    output.write_text(good_output, encoding="utf-8")
    first = plan.validate_file(output)
    assert first.failed_names() == {"tracking.registered"}
    assert "does not exist yet" in first.failures[0].message
    (tmp_path / "out" / "tracking.yaml").write_text("outputs:\n  - path: my-quorum.md\n", encoding="utf-8")
    assert plan.validate_file(output).failed_names() == {"tracking.registered"}
    (tmp_path / "out" / "tracking.yaml").write_text("outputs:\n  - path: quorum.md\n", encoding="utf-8")
    assert plan.validate_file(output).ok


def test_placeholder_uses_the_plans_default_tracking_file(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled(rules=(), checklist=("Output registered in <tracking-file>",))
    report = plan.explain()[0]
    assert report.checks == ("tracking.registered",)
    assert "plan.tracking.yaml" in report.note


def test_token_matching() -> None:
    assert is_registered("- path: ../out/quorum.md\n", Path("x/quorum.md"))
    assert is_registered("| quorum.md | done |", Path("quorum.md"))
    assert not is_registered("path: quorum.md.bak", Path("quorum.md"))
    assert not is_registered("path: old-quorum.md", Path("quorum.md"))
