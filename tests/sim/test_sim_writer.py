"""The fake model, without HTTP: shape, determinism, length, and each flaw."""

from __future__ import annotations

import re
from typing import Any

from simkit import CATEGORIES, REFERENCE, SECTIONS, params, split_document

from orchestrator.sim.config import SimConfig
from orchestrator.sim.reference import parse_enums, read_brief
from orchestrator.sim.tokens import count_text
from orchestrator.sim.writer import near_miss, never_valid, reply

TITLES = [
    "Quorum",
    "Backpressure",
    "Fencing Token",
    "Vector Clock",
    "Circuit Breaker",
    "CAP Theorem: What Consistency and Availability Each Cost (synthesis)",
    "Optimistic vs Pessimistic Concurrency Control (synthesis)",
]


def never(p: float) -> bool:
    return False


def always(p: float) -> bool:
    return p > 0


def write(title: str = "Quorum", config: SimConfig | None = None, **kw: Any) -> str:
    return reply(params(title, **kw), config or SimConfig(seed=7), never).text


def test_copies_keys_sections_enum_and_table() -> None:
    for title in TITLES:
        front, headings, body = split_document(write(title))
        assert list(front) == ["term", "category", "tags"]
        assert front["term"] == title
        assert front["category"] in CATEGORIES
        assert len(front["tags"]) >= 3
        assert all(re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", t) for t in front["tags"])
        assert headings == SECTIONS
        assert "\n\n| Aspect | Value |\n|--------|-------|\n" in body
        table_rows = re.findall(r"^\|(?!-).*\|$", body, re.MULTILINE)
        assert len(table_rows) == 4  # header and three rows
        assert title.split(":")[0].split(" (")[0] in body


def test_tags_keep_the_reference_flow_style_and_a_title_naming_a_value_gets_it() -> None:
    text = write("CAP Theorem: What Consistency and Availability Each Cost (synthesis)")
    assert re.search(r"^tags: \[[a-z0-9-]+(, [a-z0-9-]+){2,}\]$", text, re.MULTILINE)
    assert split_document(text)[0]["category"] == "Consistency"


def test_deterministic_per_seed_and_title() -> None:
    assert write("Quorum") == write("Quorum")
    assert write("Quorum") != write("Backpressure")
    assert write("Quorum", SimConfig(seed=1)) != write("Quorum", SimConfig(seed=2))


def test_length_tracks_the_reference() -> None:
    ref_tokens = count_text(REFERENCE, 4)
    for title in TITLES:
        for seed in range(4):
            out = reply(params(title), SimConfig(seed=seed), never).output_tokens
            assert 0.8 * ref_tokens <= out <= 1.2 * ref_tokens, (title, seed, out, ref_tokens)


def test_block_lists_bare_tables_lists_and_h1_are_imitated() -> None:
    reference = (
        '---\ntitle: "Getting Started"\nlevel: beginner\ntags:\n  - widgets\n  - basics\n'
        "  - intro\nauthor:\n  name: Jane Doe\n---\n\n# Getting Started\n\nIntro text here.\n\n"
        "## Install\n\n1. Open a terminal\n2. Run the installer\n\n## Troubleshooting\n\n"
        "Error | Cause | Fix\n--- | --- | ---\nTimeout | Slow network | Retry later\n"
    )
    req = params("Widget Sizing", reference=reference)
    req["system"][1]["text"] = req["system"][1]["text"].replace(
        "category must be one of: Consistency, Concurrency, Scalability, Reliability",
        "level must be one of: beginner, intermediate, advanced",
    )
    text = reply(req, SimConfig(seed=1), never).text
    front, headings, body = split_document(text)
    assert list(front) == ["title", "level", "tags", "author"]
    assert front["title"] == "Widget Sizing" and front["level"] in (
        "beginner",
        "intermediate",
        "advanced",
    )
    assert front["author"] == {"name": "Jane Doe"}
    assert re.search(r"^tags:\n(  - [a-z0-9-]+\n){3,}", text, re.MULTILINE)
    assert headings == ["Install", "Troubleshooting"]
    assert body.lstrip().startswith("# Widget Sizing\n")
    assert re.search(r"^1\. .+\n2\. .+$", body, re.MULTILINE)
    assert "\n\nError | Cause | Fix\n--- | --- | ---\n" in body


def test_without_a_reference_writes_a_short_markdown_document() -> None:
    request = {
        "model": "m",
        "max_tokens": 2000,
        "messages": [{"role": "user", "content": "Produce output covering Gossip Protocols."}],
    }
    answer = reply(request, SimConfig(), never)
    assert answer.text.startswith("# Gossip Protocols\n")
    assert answer.stop_reason == "end_turn"
    assert 100 < answer.output_tokens < 600


def test_the_person_style_prompt_is_understood_too() -> None:
    prompt = (
        "Read output/idempotency.md for structure, style, and front matter format. Produce "
        "output covering Quorum. Follow these content rules: front matter needs term, category "
        "(one of Consistency, Concurrency, Scalability, Reliability), and tags; include "
        "Definition, Details, and Related Terms sections in that order. Write the output to "
        "output/quorum.md."
    )
    brief = read_brief({"messages": [{"role": "user", "content": prompt}]})
    assert brief.title == "Quorum"
    assert brief.enums == {"category": CATEGORIES}


def test_enum_rules_in_several_phrasings() -> None:
    assert parse_enums(["`status` must be one of: `draft`, `final`, or `archived`"]) == {
        "status": ("draft", "final", "archived")
    }
    assert parse_enums(["kind should be one of A | B"]) == {"kind": ("A", "B")}
    assert parse_enums(["Blank line before every markdown table"]) == {}


def test_near_miss_is_plausible_and_never_allowed() -> None:
    assert near_miss("Consistency", CATEGORIES) == "Consistent"
    assert near_miss("Reliability", CATEGORIES) == "Reliable"
    for value in CATEGORIES:
        miss = near_miss(value, CATEGORIES)
        assert miss not in CATEGORIES and miss.lower()[:4] == value.lower()[:4]


def test_each_first_draft_flaw() -> None:
    cfg = SimConfig(seed=7)
    bad = reply(params(), cfg.replace(pbad_enum=1), always)
    assert split_document(bad.text)[0]["category"] not in CATEGORIES
    missing = reply(params(), cfg.replace(pmissing_section=1), always)
    assert len(split_document(missing.text)[1]) == len(SECTIONS) - 1
    fenced = reply(params(), cfg.replace(pfenced=1), always)
    assert fenced.text.startswith("Here is the file:\n\n```markdown\n---\n")
    assert fenced.text.rstrip().endswith("```")
    whole = reply(params(), cfg, never)
    cut = reply(params(), cfg.replace(ptruncated=1), always)
    assert cut.stop_reason == "max_tokens" and cut.text == whole.text[: len(whole.text) // 2]


def test_repairs_are_clean_unless_the_title_never_validates() -> None:
    cfg = SimConfig(seed=7, pbad_enum=1, pmissing_section=1, pfenced=1, ptruncated=1)
    fixed = reply(params(repair=["category 'Consistent' is not allowed"]), cfg, always)
    front, headings, _ = split_document(fixed.text)
    assert front["category"] in CATEGORIES and headings == SECTIONS
    assert fixed.stop_reason == "end_turn"
    doomed = cfg.replace(pnever_valid=1)
    stuck = reply(params(repair=["category 'Consistent' is not allowed"]), doomed, always)
    assert split_document(stuck.text)[0]["category"] not in CATEGORIES


def test_never_valid_is_a_deterministic_fraction_of_titles() -> None:
    titles = [f"Term {i}" for i in range(400)]
    chosen = [t for t in titles if never_valid(t, 7, 0.25)]
    assert 60 < len(chosen) < 140
    assert chosen == [t for t in titles if never_valid(t, 7, 0.25)]
    assert not any(never_valid(t, 7, 0.0) for t in titles)


def test_max_tokens_and_stop_sequences_cut_the_text() -> None:
    short = reply(params(max_tokens=50), SimConfig(), never)
    assert short.stop_reason == "max_tokens" and short.output_tokens == 50
    assert len(short.text) == 200
    req = params()
    req["stop_sequences"] = ["## Details"]
    stopped = reply(req, SimConfig(), never)
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "## Details"
    assert "## Details" not in stopped.text and "## Definition" in stopped.text


def test_row_details_supply_front_matter_values() -> None:
    req = params("Quorum")
    req["messages"][0]["content"] = (
        "Produce output covering Quorum.\nRow details: Category: Scalability; Owner: ops.\n"
        "Write the output to output/quorum.md."
    )
    assert split_document(reply(req, SimConfig(), never).text)[0]["category"] == "Scalability"


def test_never_valid_without_an_enum_drops_a_section() -> None:
    req = params("Quorum", repair=["missing section"])
    req["system"][1]["text"] = req["system"][1]["text"].replace("category must be one of", "x")
    text = reply(req, SimConfig(pnever_valid=1), always).text
    assert len(split_document(text)[1]) == len(SECTIONS) - 1
