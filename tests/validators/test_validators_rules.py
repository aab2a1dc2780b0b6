"""Rule phrasings: what compiles into which checks, and what is listed as not machine-checked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from orchestrator.validators import CompiledPlan
from orchestrator.validators.expectations import (
    AllowedValues,
    MinItems,
    RequiredKeys,
    RequiredSections,
)
from orchestrator.validators.rules import NO_PHRASING

COMPILED = [
    ("Every output needs front matter: term, category, tags", ("frontmatter.required_keys",)),
    ("Front matter must include `term`, `category` and `tags`", ("frontmatter.required_keys",)),
    ("Required front matter keys: term, category", ("frontmatter.required_keys",)),
    (
        "Front matter includes term, category, and at least 2 tags",
        ("frontmatter.required_keys", "frontmatter.min_items"),
    ),
    (
        "front matter needs term, category (one of Consistency, Reliability), and tags",
        ("frontmatter.required_keys", "frontmatter.allowed_values"),
    ),
    ("Front matter is valid YAML", ("frontmatter.present",)),
    (
        "category must be one of: Consistency, Concurrency, Scalability, Reliability",
        ("frontmatter.allowed_values",),
    ),
    (
        "Category must be one of Consistency, Concurrency, Scalability, or Reliability.",
        ("frontmatter.allowed_values",),
    ),
    (
        'The `category` field must be one of: "Consistency", "Reliability"',
        ("frontmatter.allowed_values",),
    ),
    ("Allowed values for category: Consistency, Reliability", ("frontmatter.allowed_values",)),
    ("At least 2 tags", ("frontmatter.min_items",)),
    ("tags has at least two items", ("frontmatter.min_items",)),
    ("3 or more tags", ("frontmatter.min_items",)),
    (
        "Include Definition, Details, and Related Terms sections, in that order",
        ("sections.present", "sections.order"),
    ),
    (
        "Definition, Details, and Related Terms sections present, in that order",
        ("sections.present", "sections.order"),
    ),
    (
        "Sections appear in this order: Definition, Details, Related Terms",
        ("sections.present", "sections.order"),
    ),
    ("Blank line before every markdown table", ("tables.blank_line_before",)),
    ("Leave a blank line before tables", ("tables.blank_line_before",)),
    ("Blank lines around tables", ("tables.blank_line_before", "tables.blank_line_after")),
    ("Linter passes: pymarkdown scan <filepath>", ("lint.command",)),
    ("`markdownlint-cli2 <filepath>` passes", ("lint.command",)),
    ("Output registered in tracking.yaml", ("tracking.registered",)),
    ("Output registered in <tracking-file>", ("tracking.registered",)),
]

UNCHECKED = [
    ("Write in a neutral, encyclopedic tone", "no known phrasing"),
    ("Each section is under 200 words", "no known phrasing"),
    ("category: one of Consistency, Reliability, etc.", "open-ended"),
    ("Include at least 3 steps", "'steps' is not a front matter key"),
    ("Tables need blank lines", "before or after"),
    ("Never put a blank line before a table", "negated"),
    ("Linter passes: <lint-command> <filepath>", "<lint-command>"),
    ("Linter passes: pymarkdown scan", "no <filepath> placeholder"),
    ("Linter passes", "names no command"),
    ("Use ## headings for sections", "does not name sections"),
]


@pytest.mark.parametrize(("rule", "checks"), COMPILED, ids=[r for r, _ in COMPILED])
def test_phrasing_compiles_into_named_checks(
    compiled: Callable[..., CompiledPlan], rule: str, checks: tuple[str, ...]
) -> None:
    report = compiled(rules=(rule,), checklist=()).explain()[0]
    assert report.checks is not None, report.reason
    assert set(checks) <= set(report.checks)
    assert report.reason is None


@pytest.mark.parametrize(("rule", "reason"), UNCHECKED, ids=[r for r, _ in UNCHECKED])
def test_unrecognised_or_ambiguous_rule_is_listed_not_guessed(
    compiled: Callable[..., CompiledPlan], rule: str, reason: str
) -> None:
    plan = compiled(rules=(rule,), checklist=())
    report = plan.explain()[0]
    assert report.checks is None
    assert reason in (report.reason or "")
    assert [u.text for u in plan.unchecked] == [rule]


def test_every_line_is_either_compiled_or_listed(compiled: Callable[..., CompiledPlan]) -> None:
    rules = ("Every output needs front matter: term, category, tags", "Be concise")
    checklist = (
        "Definition, Details, and Related Terms sections present, in that order",
        "Reads well",
    )
    plan = compiled(rules=rules, checklist=checklist)
    reports = plan.explain()
    assert [r.text for r in reports] == [*rules, *checklist]
    assert [r.section for r in reports] == ["content rules"] * 2 + ["validation checklist"] * 2
    assert [r.checked for r in reports] == [True, False, True, False]
    assert [item.text for item, _ in plan.unchecked_lines()] == ["Be concise", "Reads well"]


def test_values_keep_their_case_and_quotes_are_dropped(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled(
        rules=(
            'difficulty must be one of "easy", "medium" or "hard"',
            "cuisine must be one of: Italian, Middle Eastern, `Research and Development`",
        ),
        checklist=(),
    )
    values = [e.values for e in plan.expectations.of(AllowedValues)]
    assert values == [
        ("easy", "medium", "hard"),
        ("Italian", "Middle Eastern", "Research and Development"),
    ]


def test_checklist_reference_to_content_rules_reuses_their_values(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled()
    enums = [e for e in plan.expectations.of(AllowedValues) if e.source.section == "validation checklist"]
    assert enums[0].values == ("Consistency", "Concurrency", "Scalability", "Reliability")


def test_checklist_reference_with_a_wrong_count_is_not_guessed(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled(checklist=("category is one of the three values listed in Content Rules",))
    assert plan.unchecked[0].reason is not None
    assert "says three values, but Content Rules lists 4" in plan.unchecked[0].reason


def test_checklist_reference_without_content_rule_is_not_guessed(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled(rules=(), checklist=("category is one of the values listed in Content Rules",))
    assert "no Content Rules line lists allowed values" in (plan.unchecked[0].reason or "")


def test_keys_follow_the_reference_spelling(compiled: Callable[..., CompiledPlan]) -> None:
    plan = compiled(rules=("Category must be one of: Reliability", "At least 2 tag"), checklist=())
    assert plan.expectations.of(AllowedValues)[0].key == "category"
    assert plan.expectations.of(MinItems)[0].key == "tags"


def test_key_list_with_a_phrase_is_not_machine_checked(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled(rules=("Front matter includes term, a short summary, and tags",), checklist=())
    assert "'a short summary' is not a front matter key name" in (plan.unchecked[0].reason or "")
    assert not [e for e in plan.expectations.of(RequiredKeys) if e.source.section == "content rules"]


def test_unordered_sections_rule_only_checks_presence(
    compiled: Callable[..., CompiledPlan],
) -> None:
    plan = compiled(rules=("Sections: Definition, Details",), checklist=())
    report = plan.explain()[0]
    assert report.checks == ("sections.present",)
    rule = next(e for e in plan.expectations.of(RequiredSections) if e.source.section == "content rules")
    assert rule.ordered is False


def test_derived_expectations_need_no_rules(compiled: Callable[..., CompiledPlan]) -> None:
    plan = compiled(rules=(), checklist=())
    names = {name for report in plan.derived for name in report.checks or ()}
    assert {
        "frontmatter.required_keys",
        "frontmatter.value_types",
        "sections.present",
        "sections.order",
        "tables.blank_line_before",
        "document.not_fenced",
    } <= names
    assert plan.explain() == []


def test_no_phrasing_reason_points_to_the_docs() -> None:
    assert "docs/validation.md" in NO_PHRASING
