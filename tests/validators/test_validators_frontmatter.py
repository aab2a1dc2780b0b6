"""Front matter read safely: each unusable form has its own failure, values compared as written."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from orchestrator.validators import CompiledPlan
from orchestrator.validators.document import parse_document
from orchestrator.validators.fmparse import FMStatus


@pytest.mark.parametrize(
    ("text", "status", "line", "words"),
    [
        ("## Definition\n\nText\n", FMStatus.MISSING, 1, "must start with a '---' line"),
        ("", FMStatus.MISSING, 1, "the file is empty"),
        ("term: Quorum\ncategory: x\n---\n", FMStatus.MISSING, 1, "looks like a YAML key"),
        ("---\nterm: Quorum\n\n## Definition\n", FMStatus.UNCLOSED, 1, "never closed"),
        (
            "---\nterm: Quorum\n## Definition\nText: here: x\n---\n",
            FMStatus.UNCLOSED,
            1,
            "before the heading on line 3",
        ),
        ("---\nterm: Quorum\ntags: [a, b\n---\n", FMStatus.MALFORMED, 3, "not valid YAML"),
        ("---\nterm: Quorum\n  bad: indent: x\n---\n", FMStatus.MALFORMED, 3, "not valid YAML"),
        ("---\n- a\n- b\n---\n", FMStatus.NOT_MAPPING, 2, "but it is a list"),
        ("---\njust words\n---\n", FMStatus.NOT_MAPPING, 2, "a single value 'just words'"),
        ("---\n---\n", FMStatus.EMPTY, 1, "front matter is empty"),
        ("\n---\nterm: Quorum\n---\n", FMStatus.NOT_AT_START, 1, "must begin on line 1"),
        (
            "Here it is:\n---\nterm: Quorum\n---\n",
            FMStatus.NOT_AT_START,
            1,
            "its '---' is on line 2 after 'Here it is:'",
        ),
    ],
)
def test_each_unusable_front_matter_has_its_own_failure(text: str, status: FMStatus, line: int, words: str) -> None:
    front = parse_document(text).front_matter
    assert front.status is status
    assert front.line == line
    assert words in front.message


def test_values_are_kept_as_written() -> None:
    text = "---\nterm: 2024-01-01\nn: 3\nflag: yes\nnothing: null\nquoted: 'Reliability'\ntags:\n  - 1.0\n  - no\n---\n"
    entries = parse_document(text).front_matter.entries
    assert entries["term"].value == "2024-01-01"
    assert entries["n"].value == "3"
    assert entries["flag"].value == "yes"
    assert entries["nothing"].value == "null"
    assert entries["quoted"].value == "Reliability"
    assert entries["tags"].value == ["1.0", "no"]
    assert [i.line for i in entries["tags"].items] == [8, 9]


def test_crlf_and_bom_keep_line_numbers() -> None:
    text = "\ufeff---\r\nterm: Quorum\r\ncategory: X\r\n---\r\n\r\n## Definition\r\n"
    doc = parse_document(text)
    assert doc.front_matter.ok
    assert doc.front_matter.entries["category"].line == 3
    assert [(h.text, h.line) for h in doc.headings] == [("Definition", 6)]


def _failures(plan: CompiledPlan, text: str) -> list[tuple[str, int | None, str]]:
    report = plan.validate_text(text, path=Path("out.md"))
    return [(c.name, c.line, c.message) for c in report.failures]


def test_a_date_or_number_cannot_fool_an_enum(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    plan = compiled(rules=("version must be one of: 1, 2",), checklist=())
    text = good_output.replace("tags:", "version: 1.0\ntags:")
    assert _failures(plan, text) == [("frontmatter.allowed_values", 4, "version: '1.0' is not one of 1, 2")]
    assert _failures(plan, good_output.replace("tags:", "version: 2\ntags:")) == []


def test_wrong_enum_message_matches_the_seed(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    failures = _failures(compiled(), good_output.replace("category: Consistency", "category: Consistent"))
    names = {name for name, _, _ in failures}
    assert names == {"frontmatter.allowed_values"}
    assert failures[0][2].startswith(
        "category: 'Consistent' is not one of Consistency, Concurrency, Scalability, Reliability"
    )
    assert failures[0][1] == 3


def test_unusable_front_matter_fails_only_present(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace("tags: [distributed-systems, reliability]", "tags: [a, b")
    report = compiled().validate_text(text, path=Path("out.md"))
    assert report.failed_names() == {"frontmatter.present"}
    assert {c.name for c in report.skipped} >= {
        "frontmatter.required_keys",
        "frontmatter.allowed_values",
    }


def test_no_front_matter_is_never_an_empty_pass(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    body = good_output.split("---\n", 2)[2]
    report = compiled(rules=(), checklist=()).validate_text(body, path=Path("out.md"))
    assert not report.ok
    assert "frontmatter.present" in report.failed_names()


def test_missing_list_key_fails_the_count(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace("tags: [distributed-systems, reliability]\n", "")
    names = compiled().validate_text(text, path=Path("o.md")).failed_names()
    assert names == {"frontmatter.required_keys", "frontmatter.min_items"}


def test_extra_keys_and_block_lists_pass(compiled: Callable[..., CompiledPlan], good_output: str) -> None:
    text = good_output.replace(
        "tags: [distributed-systems, reliability]",
        "tags:\n- distributed-systems\n- reliability\nextra: {a: 1}\nupdated: 2024-01-01",
    )
    assert compiled().validate_text(text, path=Path("o.md")).ok


def test_a_key_the_reference_leaves_empty_may_stay_empty(
    compiled: Callable[..., CompiledPlan], reference_text: str
) -> None:
    reference = reference_text.replace("tags:", "aliases:\ntags:")
    plan = compiled(rules=(), checklist=(), reference=reference)
    assert plan.validate_text(reference, path=Path("o.md")).ok
    with_list = reference.replace("aliases:", "aliases: [a, b]")
    assert plan.validate_text(with_list, path=Path("o.md")).ok
    without = reference.replace("aliases:\n", "")
    failed = plan.validate_text(without, path=Path("o.md")).failed_names()
    assert failed == {"frontmatter.required_keys"}
    strict = compiled(rules=("Front matter includes aliases",), checklist=(), reference=reference)
    assert strict.validate_text(reference, path=Path("o.md")).failed_names() == {"frontmatter.required_keys"}
