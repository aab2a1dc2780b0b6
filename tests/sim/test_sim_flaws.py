"""Flawed first drafts, clean repairs, and titles that never validate, over HTTP."""

from __future__ import annotations

from collections.abc import Callable

from simkit import CATEGORIES, SECTIONS, client, params, split_document, text_of

from orchestrator.sim.server import SimServer

Start = Callable[..., SimServer]
COMPLAINT = ["category: 'Consistent' is not one of Consistency, Concurrency, ..."]


def first_draft(sim: SimServer, title: str = "Quorum") -> tuple[str, str | None]:
    message = client(sim).messages.create(**params(title))
    return text_of(message), message.stop_reason


def repair(sim: SimServer, title: str = "Quorum") -> str:
    return text_of(client(sim).messages.create(**params(title, repair=COMPLAINT)))


def test_bad_enum_then_clean_repair(start_sim: Start) -> None:
    sim = start_sim(pbad_enum=1)
    text, _ = first_draft(sim)
    assert split_document(text)[0]["category"] not in CATEGORIES
    assert split_document(repair(sim))[0]["category"] in CATEGORIES


def test_missing_section(start_sim: Start) -> None:
    sim = start_sim(pmissing_section=1)
    headings = split_document(first_draft(sim)[0])[1]
    assert len(headings) == 2 and set(headings) < set(SECTIONS)
    assert split_document(repair(sim))[1] == SECTIONS


def test_fenced_with_chatter(start_sim: Start) -> None:
    sim = start_sim(pfenced=1)
    text, _ = first_draft(sim)
    assert text.startswith("Here is the file:\n\n```markdown\n---\n") and text.endswith("```\n")
    assert repair(sim).startswith("---\n")


def test_truncated(start_sim: Start) -> None:
    sim = start_sim(ptruncated=1)
    text, stop = first_draft(sim)
    assert stop == "max_tokens"
    assert "## Related Terms" not in text
    assert split_document(repair(sim))[1] == SECTIONS


def test_max_tokens_below_the_document_truncates(sim: SimServer) -> None:
    message = client(sim).messages.create(**params(max_tokens=40))
    assert message.stop_reason == "max_tokens" and message.usage.output_tokens == 40


def test_never_valid_keeps_failing(start_sim: Start) -> None:
    sim = start_sim(pnever_valid=1)
    for _ in range(3):
        assert split_document(repair(sim, "Fencing Token"))[0]["category"] not in CATEGORIES
    assert sim.stats.messages_created == 3


def test_no_flaws_by_default(sim: SimServer) -> None:
    text, stop = first_draft(sim)
    front, headings, _ = split_document(text)
    assert stop == "end_turn" and front["category"] in CATEGORIES and headings == SECTIONS
