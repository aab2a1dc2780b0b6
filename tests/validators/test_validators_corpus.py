"""The labelled corpus: every defect caught by the named check, every good file passes."""

from __future__ import annotations

import importlib.util
import json
from collections import Counter
from functools import cache
from pathlib import Path

import pytest
from orchestrator.validators import CompiledPlan, compile_plan, extract_document

from orchestrator.plan.parser import read_plan

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
LABELS: list[dict[str, str | None]] = json.loads((CORPUS / "labels.json").read_text(encoding="utf-8"))


@cache
def _compiled(plan: str) -> CompiledPlan:
    return compile_plan(read_plan(REPO / plan))


def _validate(entry: dict[str, str | None]) -> tuple[set[str], bool]:
    file = CORPUS / str(entry["file"])
    content = file.read_bytes().decode("utf-8")
    report = _compiled(str(entry["plan"])).validate_text(content, path=REPO / "output" / file.name)
    return report.failed_names(), report.ok


def test_corpus_is_large_and_labelled() -> None:
    files = {p.relative_to(CORPUS).as_posix() for p in CORPUS.glob("*/*.md")}
    assert len(LABELS) >= 40
    assert files == {str(e["file"]) for e in LABELS}
    plans = Counter(str(e["plan"]) for e in LABELS)
    assert set(plans) == {"plans/glossary.md", "plans/recipes.md"}


def test_corpus_covers_the_required_defects() -> None:
    defects = {str(e["defect"]) for e in LABELS}
    for wanted in (
        "wrong enum value",
        "wrong case of an enum value",
        "missing key",
        "no front matter",
        "malformed YAML",
        "sections out of order",
        "a missing section",
        "a table with no blank line before it",
        "too few tags",
        "fenced response",
    ):
        assert wanted in defects, wanted
    goods = {Path(str(e["file"])).stem for e in LABELS if e["defect"] == "good"}
    assert {"good-crlf", "good-extra-sections", "good-block-list"} <= goods


@pytest.mark.parametrize("entry", [e for e in LABELS if e["defect"] == "good"], ids=lambda e: str(e["file"]))
def test_good_file_passes(entry: dict[str, str | None]) -> None:
    failed, ok = _validate(entry)
    assert ok, f"{entry['file']} failed {sorted(failed)}"


@pytest.mark.parametrize("entry", [e for e in LABELS if e["defect"] != "good"], ids=lambda e: str(e["file"]))
def test_defect_is_caught_by_its_check(entry: dict[str, str | None]) -> None:
    failed, ok = _validate(entry)
    assert not ok
    assert entry["check"] in failed, f"{entry['file']}: expected {entry['check']}, got {sorted(failed)}"


@pytest.mark.parametrize(
    "name",
    [
        "glossary/fenced-response.md",
        "recipes/fenced-response.md",
        "glossary/chatter-before-front-matter.md",
    ],
)
def test_extracting_a_chatty_reply_gives_a_passing_file(name: str) -> None:
    entry = next(e for e in LABELS if e["file"] == name)
    extracted = extract_document((CORPUS / name).read_text(encoding="utf-8"))
    report = _compiled(str(entry["plan"])).validate_text(extracted.content, path=REPO / "output" / "x.md")
    assert extracted.notes
    assert report.ok, report.failure_messages()


def test_shipped_references_pass_their_own_plans() -> None:
    for plan in ("plans/glossary.md", "plans/recipes.md"):
        report = _compiled(plan).check_reference()
        assert report.ok, (plan, report.failure_messages())


def test_committed_corpus_matches_its_generator() -> None:
    spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for folder, (_plan, cases) in module.PLANS.items():
        for name, (base, mutate, _defect, _check) in cases.items():
            committed = (CORPUS / folder / f"{name}.md").read_bytes().decode("utf-8")
            assert committed == mutate(base), f"{folder}/{name}.md is stale: rerun make_corpus.py"
