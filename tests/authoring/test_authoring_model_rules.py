"""Model Selection Rules compiled into named rules: what they choose, and what they refuse to guess."""

from __future__ import annotations

from pathlib import Path

import pytest
from authorkit import REPO, copy_examples, orchestrate

from orchestrator.models import ModelTable, load_model_table
from orchestrator.plan.model import TextLine
from orchestrator.plan.model_check import model_rule_notes, model_rule_warnings
from orchestrator.plan.model_rules import ModelRules, compile_model_rules
from orchestrator.plan.parser import parse_plan, read_plan


@pytest.fixture(scope="module")
def table() -> ModelTable:
    return load_model_table()


def rules_of(table: ModelTable, *lines: str) -> ModelRules:
    return compile_model_rules([TextLine(text, n) for n, text in enumerate(lines, 10)], table)


def test_glossary_rules_give_haiku_to_single_terms_and_sonnet_to_synthesis_and_vs_rows(table: ModelTable) -> None:
    plan = read_plan(REPO / "plans" / "glossary.md")
    rules = compile_model_rules(plan.model_rules, table)
    assert not rules.uncompiled
    assert [r.name for r in rules.rules] == ["default", "compares or synthesizes"]
    for row in plan.rows():
        choice = rules.choose(row.title, row.cells)
        assert choice.certain, row.title
        if "(synthesis)" in row.title or " vs " in row.title:
            assert choice.model == "sonnet", row.title
            assert choice.rule is not None and choice.rule.name == "compares or synthesizes"
        else:
            assert choice.model == "haiku", row.title
            assert choice.rule is rules.default
        assert choice.model == row.model  # the example plan agrees with its own rules
    vs_only = rules.choose("Raft vs Paxos")
    assert vs_only.model == "sonnet" and vs_only.evidence == 'title has "vs"'
    synthesis_only = rules.choose("Consensus Protocols (synthesis)")
    assert synthesis_only.model == "sonnet" and synthesis_only.evidence == 'title has "synthesis"'


def test_a_partly_understood_rule_keeps_what_it_understood_and_doubts_the_rest(table: ModelTable) -> None:
    rules = rules_of(table, "Default: haiku for a single recipe",
                     "Use sonnet for any task that compares techniques or explains background")
    rule = rules.conditions[0]
    assert rule.name == "compares" and rule.unread == ("explains background",)
    assert rules.choose("Ratatouille: Baked Versus Stewed").model == "sonnet"
    doubtful = rules.choose("Oyakodon, with a note on Japanese rice varieties")
    assert doubtful.model == "haiku" and not doubtful.certain
    assert "line(s) 11" in doubtful.note


@pytest.mark.parametrize(("line", "reason"), [
    ("Use opus when the topic is legally sensitive", "no condition it names is understood"),
    ("Use sonnet for tasks that do not compare", "negated condition"),
    ("Use gpt4 for hard ones", "'gpt4' is not a model in the model table"),
    ("Prefer the cheapest model that works", "no known phrasing"),
    ("Default: sonnet", "a second default"),
])
def test_an_uncompilable_line_is_listed_with_its_reason_never_guessed(table: ModelTable, line: str,
                                                                       reason: str) -> None:
    rules = rules_of(table, "Default: haiku for every task", line)
    assert [u.item.text for u in rules.uncompiled] == [line]
    assert reason in rules.uncompiled[0].reason
    choice = rules.choose("Anything legally sensitive vs otherwise")
    if "compare" not in line:
        assert choice.model == "haiku" and not choice.certain and "line(s) 11" in choice.note


@pytest.mark.parametrize("line", ["Default: haiku for a single glossary term", "Default model: haiku",
                                  "Use haiku by default", "haiku for everything else", "Otherwise use haiku",
                                  "Default: claude-haiku-5-5 - for everything"])
def test_default_phrasings(table: ModelTable, line: str) -> None:
    rules = rules_of(table, line)
    assert rules.default is not None and not rules.uncompiled
    assert table.get(rules.default.model) == table.get("haiku")


def test_exact_conditions_literals_and_columns(table: ModelTable) -> None:
    rules = rules_of(table, "Default: haiku", 'Use opus for rows whose Depth is "deep"',
                     'Use sonnet for titles containing "deep dive" or (long)', "Overviews -> sonnet")
    names = [r.name for r in rules.conditions]
    assert names == ["Depth is deep", 'title contains "deep dive" or title contains "(long)"', "surveys"]
    assert rules.choose("Quorum", {"Depth": "Deep"}).model == "opus"
    assert rules.choose("Quorum", {"Depth": "shallow"}).model == "haiku"
    assert rules.choose("A Deep Dive into Raft").model == "sonnet"
    assert rules.choose("Quorum (long)").model == "sonnet"
    assert rules.choose("An overview of consensus").model == "sonnet"
    assert rules.choose("Quorum").certain


def test_without_a_default_nothing_is_chosen(table: ModelTable) -> None:
    rules = rules_of(table, "Use sonnet for any task that compares")
    choice = rules.choose("Quorum")
    assert choice.model is None and not choice.certain
    assert "no Default rule" in choice.describe()


def test_check_warns_about_a_contradicting_row_but_still_passes(tmp_path: Path, table: ModelTable) -> None:
    plans = copy_examples(tmp_path)
    plan = plans / "glossary.md"
    text = plan.read_text().replace("| 2 | Quorum | quorum.md | haiku |", "| 2 | Quorum | quorum.md | opus |")
    text = text.replace("cap-theorem.md | sonnet |", "cap-theorem.md | haiku |")
    plan.write_text(text)
    parsed = read_plan(plan)
    warnings = model_rule_warnings(parsed, table)
    quorum, cap = (parsed.find_row(n) for n in ("2", "7"))
    assert quorum is not None and cap is not None
    assert [w.line for w in warnings] == [quorum.line, cap.line]
    assert "row #2 uses opus, but the Model Selection Rules choose haiku: default rule" in warnings[0].message
    assert 'rule "compares or synthesizes" (line 45): title has "synthesis"' in warnings[1].message
    result = orchestrate("check", str(plan))
    assert result.code == 0, result.err
    assert result.err.count("warning: ") == 2 and f"{plan}:{quorum.line}: row #2 uses opus" in result.err


def test_check_neither_warns_where_a_rule_is_only_partly_understood_nor_hides_it(table: ModelTable) -> None:
    plan = read_plan(REPO / "plans" / "recipes.md")  # Oyakodon is sonnet; "explains background" not understood
    assert model_rule_warnings(plan, table) == []
    notes = model_rule_notes(plan, table)
    assert [n.line for n in notes] == [44] and "'explains background'" in notes[0].hint
    result = orchestrate("check", str(REPO / "plans" / "recipes.md"))
    assert result.code == 0 and "warning:" not in result.err
    assert "model rule only partly compiled" in result.err


def test_explain_shows_what_each_model_rule_line_became(tmp_path: Path) -> None:
    plan = copy_examples(tmp_path) / "glossary.md"
    plan.write_text(plan.read_text() + "- Use opus when the topic is legally sensitive\n")
    result = orchestrate("explain", str(plan))
    assert result.code == 0, result.err
    section = result.out[result.out.index("Model Selection Rules ("):]
    assert "3 line(s): 2 compiled, 1 not compiled" in section
    assert "-> default: haiku for every row no other rule chooses" in section
    assert '-> rule "compares or synthesizes": sonnet when any of' in section
    assert "NOT compiled: no condition it names is understood" in section
    data = __import__("json").loads(orchestrate("explain", str(plan), "--json").out)
    kinds = [(m["kind"], m["model"], m["compiled"]) for m in data["model_rules"]]
    assert kinds == [("default", "haiku", True), ("condition", "sonnet", True), (None, None, False)]


def test_rules_compile_against_the_plans_own_model_table(tmp_path: Path) -> None:
    (tmp_path / "orchestrate.toml").write_text(
        '[models.mini]\nid = "claude-mini-1"\ninput = 0.1\noutput = 0.2\ncache_write = 0.1\n'
        'cache_write_1h = 0.2\ncache_read = 0.01\n')
    plan = parse_plan("## Model Selection Rules\n- Default: mini for everything\n", tmp_path / "p.md")
    rules = compile_model_rules(plan.model_rules, load_model_table(tmp_path))
    assert rules.default is not None and rules.default.model == "mini"
