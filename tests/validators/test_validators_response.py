"""PARSE: one wrapping fence and chatter removed, each removal noted, nothing invented."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from orchestrator.validators import extract_document

DOC = "---\nterm: Quorum\n---\n\n## Definition\n\nText.\n"


def test_clean_reply_is_unchanged() -> None:
    extracted = extract_document(DOC)
    assert extracted.content == DOC
    assert extracted.notes == []
    assert not extracted.changed


def test_one_wrapping_fence_is_removed() -> None:
    extracted = extract_document("```markdown\n" + DOC + "```")
    assert extracted.content == DOC
    assert extracted.notes == ["removed the wrapping code fence '```markdown'"]


def test_chatter_around_a_fence_is_removed_and_noted() -> None:
    extracted = extract_document("Here you go:\n\n````md\n" + DOC + "````\n\nLet me know!\n")
    assert extracted.content == DOC
    assert extracted.notes == [
        "removed text before the code fence: 'Here you go:'",
        "removed the wrapping code fence '````md'",
        "removed text after the code fence: 'Let me know!'",
    ]


def test_inner_fences_survive_unwrapping() -> None:
    doc = DOC + "\n```python\nprint(1)\n```\n\nAfter.\n"
    assert extract_document("```markdown\n" + doc + "```\n").content == doc


def test_inner_fences_of_an_unfenced_document_are_content() -> None:
    doc = DOC + "\n```\ncode\n```\n"
    assert extract_document(doc).content == doc


def test_unclosed_fence_is_noted() -> None:
    extracted = extract_document("```markdown\n" + DOC)
    assert extracted.content == DOC
    assert "it was never closed" in extracted.notes[0]


def test_preamble_before_front_matter_is_removed() -> None:
    extracted = extract_document("Sure! Here is the entry.\n" + DOC)
    assert extracted.content == DOC
    assert extracted.notes == ["removed text before the front matter: 'Sure! Here is the entry.'"]


def test_closing_pleasantry_is_removed() -> None:
    extracted = extract_document(DOC + "\nI hope this helps!\n")
    assert extracted.content == DOC
    assert extracted.notes == ["removed text after the document: 'I hope this helps!'"]


def test_a_fence_with_a_code_language_is_left_alone() -> None:
    reply = "```python\nprint('hi')\n```\n"
    assert extract_document(reply).content == reply


def test_crlf_is_kept() -> None:
    crlf = DOC.replace("\n", "\r\n")
    assert extract_document("```markdown\r\n" + crlf + "```\r\n").content == crlf


def test_no_front_matter_is_left_for_the_validators() -> None:
    reply = "Intro text.\n\n## Definition\n\nText.\n"
    assert extract_document(reply).content == reply


def test_empty_reply() -> None:
    extracted = extract_document("  \n")
    assert extracted.content == ""
    assert extracted.notes == ["the reply contains no document"]


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["---", "```", "```markdown", "## H", "key: v", "text", "", "Let me know"]),
        max_size=12,
    )
)
def test_never_invents_content(lines: list[str]) -> None:
    raw = "\n".join(lines)
    content = extract_document(raw).content
    kept = [line for line in content.split("\n") if line]
    source = iter(raw.split("\n"))
    assert all(any(line == candidate for candidate in source) for line in kept)  # an ordered subsequence
