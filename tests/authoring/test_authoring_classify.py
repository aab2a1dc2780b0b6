"""``add --classify``: a cheap model applies the rules that were not compiled, after an estimate and a yes.

Driven through the real ``anthropic`` SDK against the in-process simulator
(``--provider sim``), over loopback only.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from authorkit import copy_examples, orchestrate

from orchestrator.plan.parser import read_plan

DOUBTFUL = "Miso Soup, with a note on dashi"  # no compiled rule decides it: "explains background" is not understood


@pytest.fixture()
def plan(tmp_path: Path) -> Path:
    return copy_examples(tmp_path) / "recipes.md"


def test_classify_asks_only_about_undecided_rows_and_prints_choice_and_reason(plan: Path) -> None:
    result = orchestrate("add", str(plan), "--phase", "2", DOUBTFUL, "Paella vs Risotto",
                         "--classify", "haiku", "--provider", "sim", "--yes")
    assert result.code == 0, result.err
    out = result.out
    assert "--classify: 1 row(s) the compiled rules cannot decide; asking haiku (claude-haiku-5-5) via sim" in out
    assert re.search(r"estimate: [\d,]+ input \+ 80 output tokens, \$\d+\.\d{4}", out)
    assert "--classify: 1 of 1 answered; 1 call(s)" in out
    chosen = re.search(r"miso-soup-with-a-note-on-dashi\.md, (\w+): --classify: (.+)", out)
    assert chosen is not None and chosen.group(1) in ("haiku", "sonnet") and len(chosen.group(2)) > 10
    assert 'paella-vs-risotto.md, sonnet: rule "compares" (line 44): title has "vs"' in out
    assert "Model Selection Rules not (fully) compiled" in out and "not understood: 'explains background'" in out
    rows = {r.title: r.model for r in read_plan(plan).rows()}
    assert rows[DOUBTFUL] == chosen.group(1) and rows["Paella vs Risotto"] == "sonnet"


def test_an_unusable_answer_is_repaired_through_the_dispatcher(plan: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORCHESTRATE_SIM", "seed=3,ptruncated=1.0")  # every first answer is cut off
    result = orchestrate("add", str(plan), "--phase", "2", DOUBTFUL, "--classify", "haiku", "--provider", "sim",
                         "--yes")
    assert result.code == 0, result.err
    assert "--classify: 1 of 1 answered; 2 call(s)" in result.out
    assert read_plan(plan).find_row("7") is not None


def test_classify_without_confirmation_asks_nothing_and_writes_nothing(plan: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    before = plan.read_bytes()
    result = orchestrate("add", str(plan), "--phase", "2", DOUBTFUL, "--classify", "haiku", "--provider", "sim")
    assert result.code == 2 and "was not confirmed: nothing was asked or written" in result.err
    assert "estimate:" in result.out and "answered" not in result.out
    monkeypatch.setattr("orchestrator.cli.author_cmds.stdin_is_terminal", lambda: True)
    result = orchestrate("add", str(plan), "--phase", "2", DOUBTFUL, "--classify", "haiku", "--provider", "sim",
                         input="n\n")
    assert result.code == 2 and "not confirmed: nothing was asked or written" in result.err
    assert "Proceed with classifying? [y/N]" in result.out and "answered" not in result.out
    assert plan.read_bytes() == before


def test_classify_has_nothing_to_ask_when_the_rules_decide(tmp_path: Path) -> None:
    plan = copy_examples(tmp_path) / "glossary.md"
    result = orchestrate("add", str(plan), "--phase", "1", "Raft", "--classify", "haiku")  # no provider needed
    assert result.code == 0, result.err
    assert "the compiled rules decide every row" in result.out
    assert read_plan(plan).find_row("10") is not None


def test_without_a_default_only_classify_or_model_can_decide(tmp_path: Path) -> None:
    plan = copy_examples(tmp_path) / "glossary.md"
    text = plan.read_text().replace("- Default: haiku for a single glossary term\n",
                                    "- Use opus when the topic is legally sensitive\n")
    plan.write_text(text)
    before = plan.read_bytes()
    refused = orchestrate("add", str(plan), "--phase", "1", "Data Retention")
    assert refused.code == 2 and "no model for 'Data Retention'" in refused.err
    assert "add `- Default: haiku for ...`" in refused.err and plan.read_bytes() == before
    both = orchestrate("add", str(plan), "--phase", "1", "Data Retention", "--model", "haiku", "--classify", "haiku")
    assert both.code == 2 and "--classify and --model together" in both.err
    result = orchestrate("add", str(plan), "--phase", "1", "Data Retention", "Raft vs Paxos", "--classify", "haiku",
                         "--provider", "sim", "--yes")
    assert result.code == 0, result.err
    assert "1 row(s) the compiled rules cannot decide" in result.out  # "vs" is decided by the compiled rule
    row = read_plan(plan).find_row("10")
    assert row is not None and row.model in ("opus", "sonnet")  # the models the rules name
