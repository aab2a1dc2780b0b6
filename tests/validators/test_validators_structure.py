"""Sections and tables: order, presence, level, blank lines, and the forms a good file may take."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from orchestrator.validators import CompiledPlan, FileReport


def _check(plan: CompiledPlan, text: str) -> FileReport:
    return plan.validate_text(text, path=Path("out.md"))


def test_out_of_order_names_the_misplaced_heading(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    head, rest = good_output.split("## Definition", 1)
    definition, rest = rest.split("## Details", 1)
    details, related = rest.split("## Related Terms", 1)
    text = f"{head}## Details{details}## Definition{definition}## Related Terms{related}"
    report = _check(compiled(), text)
    failure = next(c for c in report.failures if c.name == "sections.order")
    assert failure.line == 7
    assert "expected Definition, Details, Related Terms, in that order" in failure.message


def test_headings_inside_code_are_not_sections(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace("## Related Terms", "```\n## Related Terms\n```")
    failure = _check(compiled(), text).failures[0]
    assert (failure.name, failure.line, failure.message) == (
        "sections.present",
        18,
        "section '## Related Terms' is missing: line 18 '## Related Terms' is inside a code block, "
        "so it is not a heading",
    )


def test_heading_comparison_is_lenient(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace("## Related Terms", "## related   terms:").replace("## Details", "## **Details**")
    assert _check(compiled(), text).ok


def test_extra_and_sub_sections_anywhere_pass(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace("## Details", "### Aside\n\nx\n\n## Background\n\ny\n\n## Details")
    assert _check(compiled(), text + "\n## Appendix\n\n### More\n").ok


def test_table_right_after_a_heading_fails(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace("## Details\n\n|", "## Details\n|")
    report = _check(compiled(), text)
    assert report.failed_names() == {"tables.blank_line_before"}
    assert report.failures[0].line == 12
    assert "line 11 is '## Details'" in report.failures[0].message


def test_table_interrupting_a_paragraph_fails(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace("## Details\n\n|", "## Details\n\nFacts:\n|")
    assert _check(compiled(), text).failed_names() == {"tables.blank_line_before"}


def test_table_right_after_front_matter_passes(compiled: Callable[..., CompiledPlan]) -> None:
    reference = "---\nterm: X\n---\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    plan = compiled(rules=(), checklist=(), reference=reference)
    assert _check(plan, reference).ok


def test_blank_line_after_tables_when_a_rule_asks(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    plan = compiled(rules=("Blank lines around tables",), checklist=())
    text = good_output.replace("keys |\n\n## Related Terms", "keys |\n## Related Terms")
    assert text != good_output
    report = _check(plan, text)
    assert report.failed_names() == {"tables.blank_line_after"}
    assert _check(plan, good_output).ok


def test_fenced_file_fails_not_fenced(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    report = _check(compiled(), "Sure!\n\n```markdown\n" + good_output + "```\n")
    failure = next(c for c in report.failures if c.name == "document.not_fenced")
    assert failure.line == 3


def test_a_code_block_inside_the_document_is_not_a_fence(
    compiled: Callable[..., CompiledPlan], good_output: str
) -> None:
    text = good_output.replace("## Related Terms", "```python\nprint('---')\n```\n\n## Related Terms")
    assert _check(compiled(), text).ok


def test_second_domain_plan_uses_its_own_keys(compiled: Callable[..., CompiledPlan]) -> None:
    reference = (
        "---\ndish: Soup\ncuisine: French\ningredients: [water, salt, leeks]\n---\n\n"
        "## Ingredients\n\nLeeks.\n\n## Method\n\nBoil.\n\n## Notes\n\nNone.\n"
    )
    plan = compiled(
        rules=("cuisine must be one of: French, Italian", "At least 3 ingredients"),
        checklist=(),
        reference=reference,
    )
    assert _check(plan, reference).ok
    bad = reference.replace("French", "Frensh").replace("[water, salt, leeks]", "[water]")
    bad = bad.replace("## Method\n\nBoil.\n\n", "") + "\n## Method\n\nBoil.\n"
    assert _check(plan, bad).failed_names() == {
        "frontmatter.allowed_values",
        "frontmatter.min_items",
        "sections.order",
    }
