"""Fixtures for the validator tests: small plans written into tmp_path."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from orchestrator.validators import CompiledPlan, compile_plan

from orchestrator.plan.parser import read_plan

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"

REFERENCE = """---
term: Idempotency
category: Reliability
tags: [distributed-systems, reliability]
---

## Definition

An operation is idempotent if repeating it has the effect of doing it once.

## Details

| Aspect | Value |
|--------|-------|
| Mechanism | Idempotency keys |

## Related Terms

Exactly-once delivery.
"""

GOOD_OUTPUT = REFERENCE.replace("Idempotency", "Quorum").replace("Reliability", "Consistency")

GLOSSARY_RULES = (
    "Every output needs front matter: term, category, tags",
    "category must be one of: Consistency, Concurrency, Scalability, Reliability",
    "Include Definition, Details, and Related Terms sections, in that order",
    "Blank line before every markdown table",
)
GLOSSARY_CHECKLIST = (
    "Front matter includes term, category, and at least 2 tags",
    "category is one of the four values listed in Content Rules",
    "Definition, Details, and Related Terms sections present, in that order",
)


def plan_text(rules: tuple[str, ...], checklist: tuple[str, ...], rows: str = "") -> str:
    body_rules = "\n".join(f"- {r}" for r in rules)
    body_checks = "\n".join(f"{i}. {c}" for i, c in enumerate(checklist, 1))
    rows = rows or (
        "| 1 | Idempotency | idempotency.md | haiku | complete |\n| 2 | Quorum | quorum.md | haiku | pending |\n"
    )
    return (
        "# Test Plan\n\n## Format Reference\nref/reference.md\n\n## Output Directory\nout/\n\n"
        f"## Content Rules\n{body_rules}\n\n## Validation Checklist\n{body_checks}\n\n"
        "## Phase 1\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n" + rows
    )


MakePlan = Callable[..., Path]


@pytest.fixture
def make_plan(tmp_path: Path) -> MakePlan:
    """Write a plan (and its reference) into tmp_path; return the plan's path."""

    def make(
        rules: tuple[str, ...] = GLOSSARY_RULES,
        checklist: tuple[str, ...] = GLOSSARY_CHECKLIST,
        reference: str = REFERENCE,
        rows: str = "",
    ) -> Path:
        (tmp_path / "ref").mkdir(exist_ok=True)
        (tmp_path / "out").mkdir(exist_ok=True)
        (tmp_path / "ref" / "reference.md").write_text(reference, encoding="utf-8")
        plan = tmp_path / "plan.md"
        plan.write_text(plan_text(rules, checklist, rows), encoding="utf-8")
        return plan

    return make


CompilePlan = Callable[..., CompiledPlan]


@pytest.fixture
def compiled(make_plan: MakePlan) -> CompilePlan:
    """Compile a plan written by ``make_plan`` (same arguments, plus trust_plan)."""

    def build(*args: object, trust_plan: bool = False, **kwargs: object) -> CompiledPlan:
        return compile_plan(read_plan(make_plan(*args, **kwargs)), trust_plan=trust_plan)

    return build


@pytest.fixture
def good_output() -> str:
    """An output that passes the default test plan."""
    return GOOD_OUTPUT


@pytest.fixture
def reference_text() -> str:
    return REFERENCE
