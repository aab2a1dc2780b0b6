"""Defects found by using the tool as a user would: phrasings people write, near-miss headings, messages."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from orchestrator.validators import CompiledPlan, FileReport
from orchestrator.validators.expectations import AllowedValues, MinItems, RequiredSections

from orchestrator.cli.main import main


def _check(plan: CompiledPlan, text: str) -> FileReport:
    return plan.validate_text(text, path=Path("out.md"))


def _rule(plan: CompiledPlan) -> list[object]:
    return [e for e in plan.expectations if e.source.section == "content rules"]


# --- phrasings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        "category: one of Consistency | Concurrency | Scalability | Reliability",
        "category must be one of: Consistency / Concurrency / Scalability / Reliability",
        "category must be Consistency, Concurrency, Scalability or Reliability",
        "Valid categories: Consistency, Concurrency, Scalability, Reliability",
    ],
)
def test_value_lists_people_write_are_split_into_values(compiled: Callable[..., CompiledPlan], rule: str) -> None:
    plan = compiled(rules=(rule,), checklist=())
    assert plan.explain()[0].checks is not None, plan.explain()[0].reason
    (enum,) = [e for e in _rule(plan) if isinstance(e, AllowedValues)]
    assert (enum.key, enum.values) == ("category", ("Consistency", "Concurrency", "Scalability", "Reliability"))


def test_a_pipe_list_does_not_fail_every_good_file(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    plan = compiled(rules=("category: one of Consistency | Concurrency | Scalability | Reliability",), checklist=())
    assert _check(plan, good_output).ok


def test_a_slash_inside_a_value_is_not_a_separator(compiled: Callable[..., CompiledPlan]) -> None:
    plan = compiled(rules=("category must be one of: CI/CD, Reliability",), checklist=())
    (enum,) = [e for e in _rule(plan) if isinstance(e, AllowedValues)]
    assert enum.values == ("CI/CD", "Reliability")


def test_must_be_a_or_b_is_not_read_as_values_unless_the_reference_value_is_among_them(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled(rules=("term must be short or descriptive", "tags must be lowercase or kebab-case"), checklist=())
    first, second = plan.explain()
    assert first.checks is None and "'Idempotency' is not among them" in (first.reason or "")
    assert second.checks is None and (second.reason or "").startswith("no known phrasing")


@pytest.mark.parametrize("rule", ["tags: 2 or more", "tags: at least 2", "tags: 2+", "tags: minimum 2 items"])
def test_count_after_a_colon(compiled: Callable[..., CompiledPlan], rule: str, good_output: str) -> None:
    plan = compiled(rules=(rule,), checklist=())
    (count,) = [e for e in _rule(plan) if isinstance(e, MinItems)]
    assert (count.key, count.count) == ("tags", 2)
    one_tag = good_output.replace("tags: [distributed-systems, reliability]", "tags: [one]")
    assert "frontmatter.min_items" in _check(plan, one_tag).failed_names()


@pytest.mark.parametrize("rule", ["tags: 2-5 items", "At most 5 tags", "tags: 2"])
def test_counts_that_are_not_a_minimum_are_listed(compiled: Callable[..., CompiledPlan], rule: str) -> None:
    assert compiled(rules=(rule,), checklist=()).explain()[0].checks is None


@pytest.mark.parametrize(
    "rule",
    [
        "Sections (in order): Definition, Details, Related Terms",
        "Sections, in order: Definition, Details, Related Terms",
        "Sections: Definition → Details → Related Terms",
        "Headings: Definition -> Details -> Related Terms",
    ],
)
def test_ordered_section_lists(compiled: Callable[..., CompiledPlan], rule: str, good_output: str) -> None:
    plan = compiled(rules=(rule,), checklist=())
    (sections,) = [e for e in _rule(plan) if isinstance(e, RequiredSections)]
    assert sections.names == ("Definition", "Details", "Related Terms")
    assert sections.ordered
    assert _check(plan, good_output).ok


def test_a_section_list_with_leftover_punctuation_is_not_guessed(compiled: Callable[..., CompiledPlan]) -> None:
    report = compiled(rules=("Sections: Definition (short), Details",), checklist=()).explain()[0]
    assert report.checks is None
    assert "does not look like a section name" in (report.reason or "")


# --- sections: near misses, where a missing one belongs, repeats ---------------------


@pytest.mark.parametrize(
    ("old", "new", "line", "why"),
    [
        ("## Details", "##Details", 11, "put a space after the #s"),
        ("## Details", "**Details**", 11, "is bold text, not a heading"),
        ("## Details", "<!-- ## Details -->", 11, "inside an HTML comment"),
        ("## Details", "<!--\n## Details\n-->", 12, "inside an HTML comment"),
        ("## Details", "    ## Details", 11, "indented 4 or more spaces"),
        ("## Details", "```md\n## Details\n```", 12, "inside a code block"),
    ],
)
def test_a_heading_that_is_not_one_is_pointed_at(
    compiled: Callable[..., CompiledPlan], good_output: str, old: str, new: str, line: int, why: str
) -> None:
    failure = next(f for f in _check(compiled(), good_output.replace(old, new)).failures)
    assert (failure.name, failure.line) == ("sections.present", line)
    assert why in failure.message and "'## Details' is missing" in failure.message


def test_a_missing_section_names_where_it_belongs_and_what_is_there(
    compiled: Callable[..., CompiledPlan], good_output: str
) -> None:
    failure = _check(compiled(), good_output.replace("## Details", "## Info")).failures[0]
    assert failure.line == 11
    assert "the file's ## sections: Definition (line 7), Info (line 11), Related Terms (line 17)" in failure.message


def test_a_repeated_required_section_fails_the_order(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    report = _check(compiled(), good_output + "\n## Details\n\nAgain.\n")
    failure = next(f for f in report.failures if f.name == "sections.order")
    assert failure.line == 21
    assert "'## Details' appears 2 times (lines 11, 21)" in failure.message


def test_heading_style_variants_still_pass(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    setext = good_output.replace("## Definition", "Definition\n----------")
    assert _check(compiled(), setext).ok
    assert _check(compiled(), good_output.replace("## Details", "##\tDetails")).ok


# --- front matter messages -----------------------------------------------------------


def test_messages_show_an_empty_value_and_a_comma_inside_one_item(
    compiled: Callable[..., CompiledPlan], good_output: str
) -> None:
    plan = compiled()
    empty = _check(plan, good_output.replace("tags: [distributed-systems, reliability]", "tags:"))
    count = next(f for f in empty.failures if f.name == "frontmatter.min_items")
    assert count.message.endswith("but line 4 gives no value")
    one = _check(plan, good_output.replace("tags: [distributed-systems, reliability]", 'tags: ["a, b"]'))
    count = next(f for f in one.failures if f.name == "frontmatter.min_items")
    assert "a list ['a, b']" in count.message


# --- CLI -----------------------------------------------------------------------------


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(args))
    out, _ = capsys.readouterr()
    return int(exited.value.code or 0), out


def test_lint_timeout_option(
    make_plan: Callable[..., Path], tmp_path: Path, good_output: str, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(10)\n", encoding="utf-8")
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))} <filepath>"
    plan = make_plan(checklist=(f"Linter passes: {command}",))
    (tmp_path / "out" / "quorum.md").write_text(good_output, encoding="utf-8")
    code, out = _run(capsys, "validate", str(plan), "--row", "2", "--trust-plan", "--lint-timeout", "0.3")
    assert code == 1
    assert "did not finish within 0.3 s" in out
    code, _ = _run(capsys, "validate", str(plan), "--lint-timeout", "0")
    assert code == 2


def test_a_missing_row_that_is_the_reference_says_so(
    make_plan: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(rows="| 1 | Reference | reference.md | haiku | complete |\n")
    code, out = _run(capsys, "validate", str(plan))
    assert code == 0
    assert "MISSING phase 1 row 1" in out and "its output is the format reference" in out


# --- PARSE ---------------------------------------------------------------------------


def test_a_fence_around_only_the_front_matter_is_left_for_the_validators(
    compiled: Callable[..., CompiledPlan], good_output: str
) -> None:
    from orchestrator.validators import extract_document

    front, body = good_output.split("---\n\n", 1)
    reply = f"```yaml\n{front}---\n```\n\n{body}"
    extracted = extract_document(reply)
    assert extracted.content == reply and not extracted.notes  # nothing cut: the body is not chatter
    failure = _check(compiled(), extracted.content).failures[0]
    assert failure.name in ("document.not_fenced", "frontmatter.present")
