# ruff: noqa: E501  (the corpus documents hold long markdown lines on purpose)
"""Regenerate the validator corpus: good outputs and one-defect mutations of them.

Run from the repository root (the files it writes are committed, so tests never
depend on running it)::

    python tests/validators/corpus/make_corpus.py

Every file is listed in ``labels.json`` with the plan it belongs to, the
defect it carries ("good" for none) and the check that must catch it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

QUORUM = """---
term: Quorum
category: Consistency
tags: [distributed-systems, consistency, replication]
---

## Definition

A quorum is the minimum number of nodes in a distributed system that must agree before a read or write counts as successful. Systems tune read and write quorum sizes against the total replica count to trade consistency, availability, and latency against each other.

## Details

| Aspect | Value |
|--------|-------|
| Common formula | Strong consistency requires read quorum + write quorum > total replicas |
| Typical home | Dynamo-style stores like Cassandra and Riak |
| Failure mode when misconfigured | Two writes can both succeed against disjoint node sets, producing a split-brain |

## Related Terms

Vector clocks and last-write-wins are two ways to resolve the conflicting versions a poorly tuned quorum can produce.
"""

CACIO = """---
dish: Cacio e Pepe
cuisine: Italian
difficulty: medium
serves: 2
ingredients:
  - 200 g spaghetti
  - 80 g pecorino romano
  - 2 tsp black peppercorns
---

## Ingredients

| Quantity | Ingredient |
|:---------|:-----------|
| 200 g | Spaghetti |
| 80 g | Pecorino romano, finely grated |
| 2 tsp | Black peppercorns, cracked |

## Method

1. Toast the cracked pepper in a dry pan, then add a ladle of pasta water.
2. Cook the spaghetti two minutes short of done and finish it in the pepper pan.
3. Off the heat, stir in the pecorino with splashes of pasta water until creamy.

## Notes

The sauce splits if the pan is too hot: take it off the heat before the cheese goes in.
"""

Mutation = Callable[[str], str]


def sub(old: str, new: str, count: int = 1) -> Mutation:
    def apply(text: str) -> str:
        assert old in text, f"mutation target not found: {old!r}"
        return text.replace(old, new, count)

    return apply


def chain(*steps: Mutation) -> Mutation:
    def apply(text: str) -> str:
        for step in steps:
            text = step(text)
        return text

    return apply


def swap_sections(first: str, second: str) -> Mutation:
    """Exchange two ``##`` sections (heading and body) in place."""

    def apply(text: str) -> str:
        head, body = text.split("\n## ", 1)
        parts = ["## " + p for p in ("\n## " + body).split("\n## ")[1:]]
        names = [p.splitlines()[0][3:] for p in parts]
        i, j = names.index(first), names.index(second)
        parts[i], parts[j] = parts[j], parts[i]
        parts = [p if p.endswith("\n") else p + "\n" for p in parts]
        return head + "\n" + "\n".join(parts).rstrip("\n") + "\n"

    return apply


def drop_section(name: str) -> Mutation:
    def apply(text: str) -> str:
        return re.sub(rf"## {re.escape(name)}\n.*?(?=\n## |\Z)", "", text, count=1, flags=re.S).rstrip("\n") + "\n"

    return apply


def crlf(text: str) -> str:
    return text.replace("\n", "\r\n")


def strip_front_matter(text: str) -> str:
    return text.split("---\n", 2)[2].lstrip("\n")


GOOD = "good"

# name -> (plan, base, mutation, defect, check)
GLOSSARY: dict[str, tuple[str, Mutation, str, str | None]] = {
    "good-seed-quorum": (QUORUM, lambda t: t, GOOD, None),
    "good-crlf": (QUORUM, crlf, GOOD, None),
    "good-bom": (QUORUM, lambda t: "\ufeff" + t, GOOD, None),
    "good-no-final-newline": (QUORUM, lambda t: t.rstrip("\n"), GOOD, None),
    "good-extra-sections": (
        QUORUM,
        chain(
            sub("## Definition", "## Overview\n\nA short overview.\n\n## Definition"),
            lambda t: t + "\n## See Also\n\n- Consensus\n",
        ),
        GOOD,
        None,
    ),
    "good-subheadings": (
        QUORUM,
        sub("## Details\n", "## Details\n\n### Sizing\n\nPick R and W with care.\n\n### Table\n"),
        GOOD,
        None,
    ),
    "good-block-list": (
        QUORUM,
        sub(
            "tags: [distributed-systems, consistency, replication]",
            "tags:\n  - distributed-systems\n  - consistency\n  - replication",
        ),
        GOOD,
        None,
    ),
    "good-block-list-unindented": (
        QUORUM,
        sub(
            "tags: [distributed-systems, consistency, replication]",
            "tags:\n- distributed-systems\n- consistency",
        ),
        GOOD,
        None,
    ),
    "good-flow-list-quoted": (
        QUORUM,
        sub(
            "tags: [distributed-systems, consistency, replication]",
            "tags: [\"distributed-systems\", 'consistency']",
        ),
        GOOD,
        None,
    ),
    "good-quoted-values": (
        QUORUM,
        chain(
            sub("term: Quorum", 'term: "Quorum"'),
            sub("category: Consistency", "category: 'Consistency'"),
        ),
        GOOD,
        None,
    ),
    "good-extra-keys": (
        QUORUM,
        sub("---\n\n", "updated: 2024-05-01\nversion: 2\ndraft: no\n---\n\n"),
        GOOD,
        None,
    ),
    "good-yaml-comment": (
        QUORUM,
        sub("category: Consistency", "category: Consistency  # one of four"),
        GOOD,
        None,
    ),
    "good-alignment-row": (QUORUM, sub("|--------|-------|", "|:-------|------:|"), GOOD, None),
    "good-table-no-outer-pipes": (
        QUORUM,
        chain(
            sub("| Aspect | Value |\n|--------|-------|", "Aspect | Value\n--- | ---"),
            sub(
                "| Common formula | Strong consistency requires read quorum + write quorum > total replicas |",
                "Common formula | R + W > N",
            ),
        ),
        GOOD,
        None,
    ),
    "good-heading-closing-hashes": (QUORUM, sub("## Details\n", "## Details ##\n"), GOOD, None),
    "good-code-block-with-fake-heading": (
        QUORUM,
        sub(
            "## Related Terms",
            "```text\n## Not a heading\n| not | a table |\n```\n\n## Related Terms",
        ),
        GOOD,
        None,
    ),
    "good-numeric-looking-term": (QUORUM, sub("term: Quorum", "term: 3PC"), GOOD, None),
    "wrong-enum-value": (
        QUORUM,
        sub("category: Consistency", "category: Consistent"),
        "wrong enum value",
        "frontmatter.allowed_values",
    ),
    "wrong-enum-case": (
        QUORUM,
        sub("category: Consistency", "category: consistency"),
        "wrong case of an enum value",
        "frontmatter.allowed_values",
    ),
    "wrong-enum-quoted-padding": (
        QUORUM,
        sub("category: Consistency", 'category: " Consistency"'),
        "enum value with a leading space",
        "frontmatter.allowed_values",
    ),
    "missing-key-category": (
        QUORUM,
        sub("category: Consistency\n", ""),
        "missing key",
        "frontmatter.required_keys",
    ),
    "missing-key-term": (
        QUORUM,
        sub("term: Quorum\n", ""),
        "missing key",
        "frontmatter.required_keys",
    ),
    "key-wrong-case": (
        QUORUM,
        sub("category:", "Category:"),
        "key in the wrong case",
        "frontmatter.required_keys",
    ),
    "empty-value": (
        QUORUM,
        sub("term: Quorum", "term:"),
        "key with no value",
        "frontmatter.required_keys",
    ),
    "duplicate-key": (
        QUORUM,
        sub("tags:", "term: Quorum again\ntags:"),
        "duplicate key",
        "frontmatter.unique_keys",
    ),
    "no-front-matter": (QUORUM, strip_front_matter, "no front matter", "frontmatter.present"),
    "front-matter-no-opening": (
        QUORUM,
        lambda t: t[4:],
        "front matter without its opening ---",
        "frontmatter.present",
    ),
    "malformed-yaml": (
        QUORUM,
        sub(
            "tags: [distributed-systems, consistency, replication]",
            "tags: [distributed-systems, consistency",
        ),
        "malformed YAML",
        "frontmatter.present",
    ),
    "malformed-yaml-indent": (
        QUORUM,
        sub("category: Consistency", "category: Consistency\n  bad: indent: here"),
        "malformed YAML",
        "frontmatter.present",
    ),
    "unclosed-front-matter": (
        QUORUM,
        sub("---\n\n## Definition", "\n## Definition"),
        "missing closing ---",
        "frontmatter.present",
    ),
    "front-matter-is-list": (
        QUORUM,
        sub(
            "term: Quorum\ncategory: Consistency\ntags: [distributed-systems, consistency, replication]",
            "- term: Quorum\n- category: Consistency",
        ),
        "front matter is a list",
        "frontmatter.present",
    ),
    "front-matter-is-scalar": (
        QUORUM,
        sub(
            "term: Quorum\ncategory: Consistency\ntags: [distributed-systems, consistency, replication]",
            "Quorum, Consistency",
        ),
        "front matter is a scalar",
        "frontmatter.present",
    ),
    "empty-front-matter": (
        QUORUM,
        sub(
            "term: Quorum\ncategory: Consistency\ntags: [distributed-systems, consistency, replication]\n",
            "",
        ),
        "empty front matter",
        "frontmatter.present",
    ),
    "chatter-before-front-matter": (
        QUORUM,
        lambda t: "Here is the glossary entry for Quorum:\n\n" + t,
        "text before the front matter",
        "frontmatter.present",
    ),
    "blank-line-before-front-matter": (
        QUORUM,
        lambda t: "\n" + t,
        "front matter not on line 1",
        "frontmatter.present",
    ),
    "fenced-response": (
        QUORUM,
        lambda t: "```markdown\n" + t + "```\n",
        "fenced response",
        "document.not_fenced",
    ),
    "sections-out-of-order": (
        QUORUM,
        swap_sections("Definition", "Details"),
        "sections out of order",
        "sections.order",
    ),
    "sections-last-two-swapped": (
        QUORUM,
        swap_sections("Details", "Related Terms"),
        "sections out of order",
        "sections.order",
    ),
    "missing-section": (
        QUORUM,
        drop_section("Related Terms"),
        "a missing section",
        "sections.present",
    ),
    "section-wrong-level": (
        QUORUM,
        sub("## Details", "### Details"),
        "section written as ###",
        "sections.present",
    ),
    "section-misspelled": (
        QUORUM,
        sub("## Related Terms", "## Related Concepts"),
        "section renamed",
        "sections.present",
    ),
    "table-no-blank-line-after-heading": (
        QUORUM,
        sub("## Details\n\n|", "## Details\n|"),
        "a table with no blank line before it",
        "tables.blank_line_before",
    ),
    "table-no-blank-line-after-text": (
        QUORUM,
        sub("## Details\n\n|", "## Details\n\nThe main facts:\n|"),
        "a table with no blank line before it",
        "tables.blank_line_before",
    ),
    "too-few-tags": (
        QUORUM,
        sub("tags: [distributed-systems, consistency, replication]", "tags: [consistency]"),
        "too few tags",
        "frontmatter.min_items",
    ),
    "empty-tags": (
        QUORUM,
        sub("tags: [distributed-systems, consistency, replication]", "tags: []"),
        "no tags",
        "frontmatter.min_items",
    ),
    "tags-as-string": (
        QUORUM,
        sub(
            "tags: [distributed-systems, consistency, replication]",
            "tags: distributed-systems, consistency",
        ),
        "tags written as a string",
        "frontmatter.value_types",
    ),
    "category-as-list": (
        QUORUM,
        sub("category: Consistency", "category: [Consistency]"),
        "a scalar key written as a list",
        "frontmatter.value_types",
    ),
}

RECIPES: dict[str, tuple[str, Mutation, str, str | None]] = {
    "good-cacio-e-pepe": (CACIO, lambda t: t, GOOD, None),
    "good-crlf": (CACIO, crlf, GOOD, None),
    "good-flow-list": (
        CACIO,
        sub(
            "ingredients:\n  - 200 g spaghetti\n  - 80 g pecorino romano\n  - 2 tsp black peppercorns",
            "ingredients: [200 g spaghetti, 80 g pecorino, pepper]",
        ),
        GOOD,
        None,
    ),
    "good-extra-sections": (
        CACIO,
        lambda t: t + "\n## Wine Pairing\n\nA dry Frascati.\n",
        GOOD,
        None,
    ),
    "good-two-word-cuisine": (
        CACIO,
        sub("cuisine: Italian", "cuisine: Middle Eastern"),
        GOOD,
        None,
    ),
    "good-serves-range": (CACIO, sub("serves: 2", "serves: 2-3"), GOOD, None),
    "wrong-cuisine": (
        CACIO,
        sub("cuisine: Italian", "cuisine: Italian-American"),
        "wrong enum value",
        "frontmatter.allowed_values",
    ),
    "wrong-difficulty-case": (
        CACIO,
        sub("difficulty: medium", "difficulty: Medium"),
        "wrong case of an enum value",
        "frontmatter.allowed_values",
    ),
    "missing-dish": (
        CACIO,
        sub("dish: Cacio e Pepe\n", ""),
        "missing key",
        "frontmatter.required_keys",
    ),
    "too-few-ingredients": (
        CACIO,
        sub("  - 80 g pecorino romano\n  - 2 tsp black peppercorns\n", ""),
        "too few ingredients",
        "frontmatter.min_items",
    ),
    "ingredients-as-string": (
        CACIO,
        sub(
            "ingredients:\n  - 200 g spaghetti\n  - 80 g pecorino romano\n  - 2 tsp black peppercorns",
            "ingredients: spaghetti, pecorino, pepper",
        ),
        "a list key written as a string",
        "frontmatter.value_types",
    ),
    "method-before-ingredients": (
        CACIO,
        swap_sections("Ingredients", "Method"),
        "sections out of order",
        "sections.order",
    ),
    "missing-notes": (CACIO, drop_section("Notes"), "a missing section", "sections.present"),
    "table-no-blank-line": (
        CACIO,
        sub("## Ingredients\n\n|", "## Ingredients\n|"),
        "a table with no blank line before it",
        "tables.blank_line_before",
    ),
    "fenced-response": (
        CACIO,
        lambda t: "Here is your recipe card:\n\n```md\n" + t + "```\n\nEnjoy!\n",
        "fenced response",
        "document.not_fenced",
    ),
    "malformed-yaml": (
        CACIO,
        sub("dish: Cacio e Pepe", 'dish: "Cacio e Pepe'),
        "malformed YAML",
        "frontmatter.present",
    ),
    "no-front-matter": (CACIO, strip_front_matter, "no front matter", "frontmatter.present"),
}

PLANS = {"glossary": ("plans/glossary.md", GLOSSARY), "recipes": ("plans/recipes.md", RECIPES)}


def build() -> list[dict[str, object]]:
    labels: list[dict[str, object]] = []
    for folder, (plan, cases) in PLANS.items():
        target = HERE / folder
        target.mkdir(exist_ok=True)
        for old in target.glob("*.md"):
            old.unlink()
        for name, (base, mutate, defect, check) in cases.items():
            text = mutate(base)
            assert text != base or defect == GOOD, f"{name}: the mutation changed nothing"
            (target / f"{name}.md").write_bytes(text.encode("utf-8"))
            labels.append({"file": f"{folder}/{name}.md", "plan": plan, "defect": defect, "check": check})
    return labels


if __name__ == "__main__":
    entries = build()
    (HERE / "labels.json").write_text(json.dumps(entries, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {len(entries)} files")
