"""The registry: built-ins and third-party validators join through the same entry point group."""

from __future__ import annotations

import sys
from collections.abc import Callable
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from orchestrator.validators import compile_plan, load_registry
from orchestrator.validators.registry import GROUP, build_registry

from orchestrator.errors import ConfigError
from orchestrator.plan.parser import read_plan

PLUGIN = """
from __future__ import annotations
import re
from dataclasses import dataclass
from orchestrator.validators.expectations import Expectation
from orchestrator.validators.registry import BaseValidator, Compiled
from orchestrator.validators.results import failed, passed


@dataclass(frozen=True)
class MaxWords(Expectation):
    limit: int = 0


class MaxWordsPhrasing:
    name = "max words"

    def compile(self, text, scope):
        match = re.match(r"^at most (\\d+) words$", text, re.I)
        if not match:
            return None
        from orchestrator.validators.expectations import Source
        return Compiled((MaxWords(Source(scope.section, scope.line, text), int(match.group(1))),))


class MaxWordsCheck(BaseValidator):
    name = "body.max_words"
    consumes = (MaxWords,)

    def check(self, doc, ctx):
        limit = ctx.expectations.of(MaxWords)[0].limit
        words = len(doc.text.split("---", 2)[-1].split())
        if words > limit:
            return [failed(self.name, f"{words} words, at most {limit} allowed")]
        return [passed(self.name, f"{words} words")]


def register(registry):
    registry.add_validator(MaxWordsCheck())
    registry.add_phrasing(MaxWordsPhrasing())
"""


def _points(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, source: str = PLUGIN) -> list[EntryPoint]:
    (tmp_path / "wordplugin.py").write_text(source, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "wordplugin", raising=False)
    builtin = EntryPoint("builtin", "orchestrator.validators.builtin:register", GROUP)
    return [EntryPoint("words", "wordplugin:register", GROUP), builtin]


def test_builtins_come_through_the_installed_entry_point() -> None:
    registry = load_registry()
    assert registry is load_registry()
    assert {
        "frontmatter.present",
        "frontmatter.required_keys",
        "frontmatter.allowed_values",
        "frontmatter.min_items",
        "sections.present",
        "sections.order",
        "tables.blank_line_before",
        "lint.command",
        "tracking.registered",
    } <= set(registry.names())


def test_third_party_validator_compiles_and_checks_its_own_rule(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    make_plan: Callable[..., Path],
    good_output: str,
) -> None:
    registry = build_registry(_points(tmp_path, monkeypatch))
    assert registry.names()[0] == "document.not_fenced"  # built-ins load first
    plan = compile_plan(read_plan(make_plan(rules=("At most 5 words",), checklist=())), registry=registry)
    assert plan.explain()[0].checks == ("body.max_words",)
    report = plan.validate_text(good_output, path=tmp_path / "q.md")
    assert report.failed_names() == {"body.max_words"}


def test_broken_plugin_is_a_config_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    points = _points(tmp_path, monkeypatch, "raise ImportError('missing dependency frobnicate')\n")
    with pytest.raises(ConfigError, match=r"validator plugin 'words'.*frobnicate"):
        build_registry(points)


def test_duplicate_check_names_are_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builtin = EntryPoint("builtin", "orchestrator.validators.builtin:register", GROUP)
    again = EntryPoint("again", "orchestrator.validators.builtin:register", GROUP)
    with pytest.raises(ConfigError, match="two validators are named"):
        build_registry([builtin, again])


def test_no_validators_at_all_is_an_error() -> None:
    with pytest.raises(ConfigError, match="no validators are registered"):
        build_registry([])
