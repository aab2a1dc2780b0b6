"""Slugs, row sources, the row writer and the classify answer reader, one behaviour at a time."""

from __future__ import annotations

from pathlib import Path

import pytest
from authorkit import REPO, inserted_lines

from orchestrator.authoring.classify import allowed_models, questions, read_answer
from orchestrator.authoring.slugs import MAX_SLUG, slug, unique_filename
from orchestrator.authoring.sources import RowSpec, parse_source, read_source
from orchestrator.errors import BadInputError
from orchestrator.models import load_model_table
from orchestrator.plan.model_rules import compile_model_rules
from orchestrator.plan.parser import parse_plan, read_plan
from orchestrator.recorder.rows import RowAddition, add_rows_text


@pytest.mark.parametrize(("title", "expected"), [
    ("Optimistic vs Pessimistic Locking", "optimistic-vs-pessimistic-locking"),
    ("Crème Brûlée", "creme-brulee"),
    ("親子丼 (Oyakodon)", "親子丼-oyakodon"),
    ("../../etc/passwd", "etc-passwd"),
    ("CON", "con-doc"),
    ("!!!", "untitled"),
])
def test_slugs(title: str, expected: str) -> None:
    assert slug(title) == expected


def test_a_long_slug_is_cut_at_a_hyphen_and_numbered_when_taken() -> None:
    long = slug("word " * 100)
    assert len(long) <= MAX_SLUG and not long.endswith("-")
    assert unique_filename("Quorum", {"quorum.md", "quorum-2.md"}) == "quorum-3.md"


def test_sources_tsv_bom_and_jsonl_values(tmp_path: Path) -> None:
    tsv = tmp_path / "rows.tsv"
    tsv.write_bytes("\ufefftitle\tDepth\nRaft\tdeep\n".encode())
    assert read_source(tsv) == [RowSpec("Raft", f"{tsv}:2", extras=(("Depth", "deep"),))]
    specs = parse_source('{"title": "Raft", "Level": 3, "Hot": true, "filename": null}\n', "<stdin>", "auto")
    assert specs == [RowSpec("Raft", "<stdin>:1", extras=(("Level", "3"), ("Hot", "true")))]
    hostile = parse_source('{"title": "Raft", "Lev\\nel | x": "a\\nb"}\n', "<stdin>", "jsonl")
    assert hostile[0].extras == (("Lev el | x", "a b"),)  # one line each; the writer escapes the pipe
    with pytest.raises(BadInputError, match="holds a list, not text"):
        parse_source('{"title": ["a"]}\n', "x.jsonl", "jsonl")
    with pytest.raises(BadInputError) as caught:
        parse_source('title\nok\n"unclosed\n', "x.csv", "csv")
    assert caught.value.line == 3 and "not valid CSV" in caught.value.message


def test_rows_go_into_a_blockquoted_table_and_a_file_without_a_final_newline() -> None:
    text = ("## Phase 2\n> | # | Title | Filename | Model | Status |\n> |---|---|---|---|---|\n"
            "> | 1 | A | a.md | haiku | pending |")
    plan = parse_plan(text)
    row = {"#": "2", "Title": "B", "Filename": "b.md", "Model": "haiku", "Status": "pending"}
    out = add_rows_text(text, plan, RowAddition(2, (row,))).text
    assert out == text + "\n> | 2 | B | b.md | haiku | pending |\n"
    assert [r.title for r in parse_plan(out).rows()] == ["A", "B"]


def test_a_lower_phase_goes_before_the_higher_ones_and_a_bom_survives() -> None:
    text = ("\ufeff# P\n\n## Phase 2\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n"
            "| 1 | A | a.md | haiku | pending |\n")
    plan = parse_plan(text)
    row = {"#": "2", "Title": "B", "Filename": "b.md", "Model": "haiku", "Status": "pending"}
    out = add_rows_text(text, plan, RowAddition(1, (row,))).text
    assert out.startswith("\ufeff# P\n\n## Phase 1\n")
    assert [p.number for p in parse_plan(out).phases] == [1, 2]
    added = inserted_lines(text.encode(), out.encode())
    assert b"| 2 | B | b.md | haiku | pending |\n" in added


def test_classify_asks_only_undecided_rows_and_accepts_only_models_the_rules_name() -> None:
    table = load_model_table()
    plan = read_plan(REPO / "plans" / "recipes.md")
    rules = compile_model_rules(plan.model_rules, table)
    allowed = allowed_models(rules, plan, table)
    assert allowed == ["haiku", "sonnet"]
    specs = [RowSpec("Paella vs Risotto", "a 1"), RowSpec("Miso Soup", "a 2"), RowSpec("Dal", "a 3", model="opus")]
    asked = questions(plan, specs, rules, allowed, "claude-haiku-5-5")
    assert [q.spec.title for q in asked] == ["Miso Soup"]
    assert "- Use sonnet for any task that compares techniques or explains background" in asked[0].request.shared
    good = read_answer("---\ntask: Miso Soup\nmodel: Sonnet\nreason: It explains background.\n---\n", allowed, table)
    assert (good.model, good.reason) == ("sonnet", "It explains background.")
    wrong = read_answer("---\ntask: Miso Soup\nmodel: opus\n---\n", allowed, table)
    assert wrong.model is None and "not one of: haiku, sonnet" in wrong.problem
    assert read_answer("I think sonnet.", allowed, table).problem.startswith("the reply has no `model:`")
