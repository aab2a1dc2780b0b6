"""Compile a plan's Model Selection Rules into named rules that choose a row's model.

The template this tool follows gives every task its model when it enters
the plan, so the rules act where rows are added (``orchestrate add``) and
where rows are checked (``orchestrate check`` warns about a row that
contradicts a rule). Each line becomes exactly one of:

* the **default** ("Default: haiku for a single glossary term"): the model of
  every row no other rule chooses;
* a **condition rule** ("Use sonnet for any task that compares or
  synthesizes"): its model for rows showing any of the signals it names
  (:mod:`orchestrator.plan.model_signals`); parts of the condition that
  name nothing known are kept as *unread*;
* **not compiled**, with the reason. It is never guessed at: rows such a
  line might govern get the default, with a note saying so.

docs/plan-format.md lists the phrasings understood. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from orchestrator.models import ModelTable
from orchestrator.plan.model import TextLine
from orchestrator.plan.model_signals import Signal, read_condition, understood

_I = re.IGNORECASE
_MODEL = r"[`'\"*]*(?P<model>[A-Za-z][\w.\-]*?)[`'\"*]*"
_DEFAULT_RES = (
    re.compile(rf"^(?:the\s+)?default(?:\s+model)?\s*(?::|=|\bis\b|-|\u2014)\s*(?:use\s+)?{_MODEL}"
               r"(?:(?:\s*[,(]\s*|\s+(?:for|when|if)\s+|\s+[-\u2014]\s+)(?P<scope>.*?)\)?)?$", _I),
    re.compile(rf"^(?:use\s+)?{_MODEL}\s+(?:by\s+default|otherwise|for\s+everything\s+else|"
               r"for\s+(?:all\s+)?(?:other|remaining)\s+(?:tasks|rows|entries))\b(?P<scope>.*)$", _I),
    re.compile(rf"^otherwise,?\s+(?:use\s+)?{_MODEL}(?P<scope>)$", _I),
)
_CONDITION_RES = (
    re.compile(rf"^(?:use|choose|pick|assign|prefer)\s+{_MODEL}\s+(?:for|when|if|on|where|whenever)\s+(?P<cond>.+)$",
               _I),
    re.compile(rf"^{_MODEL}\s+(?:for|when|if|whenever)\s+(?P<cond>.+)$", _I),
    re.compile(rf"^(?P<cond>.+?)\s*(?::|->|=>|\u2192)\s*(?:use\s+)?{_MODEL}$", _I),
)
NO_PHRASING = ("no known phrasing matches this line; write 'Default: MODEL for ...' or "
               "'Use MODEL for any task that ...' (docs/plan-format.md lists the phrasings)")


@dataclass(frozen=True)
class ModelRule:
    """One compiled line: the default, or a model for rows showing any of its signals."""

    name: str
    model: str
    item: TextLine
    signals: tuple[Signal, ...] = ()
    unread: tuple[str, ...] = ()  # parts of the condition not understood
    scope: str = ""  # the default's description of its rows, kept for people

    @property
    def is_default(self) -> bool:
        return not self.signals

    def evidence(self, title: str, cells: Mapping[str, str]) -> str | None:
        return next((e for s in self.signals if (e := s.evidence(title, cells))), None)

    def describe(self) -> str:
        """What the rule does, in one line."""
        if self.is_default:
            return f"default: {self.model} for every row no other rule chooses"
        return f'rule "{self.name}": {self.model} when ' + " or ".join(s.looks_for for s in self.signals)


@dataclass(frozen=True)
class UncompiledRule:
    """A line that chooses nothing, and why it was not compiled."""

    item: TextLine
    reason: str


@dataclass(frozen=True)
class Choice:
    """The model the rules give one row, the rule that chose it, and any doubt about it."""

    model: str | None
    rule: ModelRule | None
    evidence: str = ""
    note: str = ""  # set when a line that was not (fully) compiled may have governed the row

    @property
    def certain(self) -> bool:
        return self.model is not None and not self.note

    def describe(self) -> str:
        if self.rule is None:
            return "no rule chooses a model and the plan has no Default rule"
        where = f"line {self.rule.item.line}"
        if self.rule.is_default:
            text = f"default rule ({where})"
        else:
            text = f'rule "{self.rule.name}" ({where}): {self.evidence}'
        return f"{text}; note: {self.note}" if self.note else text


@dataclass(frozen=True)
class ModelRules:
    """Every Model Selection Rules line, compiled or not, in plan order."""

    rules: tuple[ModelRule, ...]
    uncompiled: tuple[UncompiledRule, ...]

    @property
    def default(self) -> ModelRule | None:
        return next((r for r in self.rules if r.is_default), None)

    @property
    def conditions(self) -> tuple[ModelRule, ...]:
        return tuple(r for r in self.rules if not r.is_default)

    def lines(self) -> list[ModelRule | UncompiledRule]:
        return sorted([*self.rules, *self.uncompiled], key=lambda r: r.item.line)

    def choose(self, title: str, cells: Mapping[str, str] | None = None) -> Choice:
        """The first condition rule (in plan order) the row matches, else the default."""
        cells = cells or {}
        for rule in self.conditions:
            found = rule.evidence(title, cells)
            if found:
                return Choice(rule.model, rule, found)
        default = self.default
        return Choice(default.model if default else None, default, note=self._doubt())

    def _doubt(self) -> str:
        lines = sorted([u.item.line for u in self.uncompiled] + [r.item.line for r in self.conditions if r.unread])
        if not lines:
            return ""
        listed = ", ".join(str(n) for n in lines)
        return f"Model Selection Rules line(s) {listed} were not fully compiled and may govern this row"


def compile_model_rules(items: Iterable[TextLine], models: ModelTable) -> ModelRules:
    """Compile each Model Selection Rules line; see the module docstring."""
    rules: list[ModelRule] = []
    uncompiled: list[UncompiledRule] = []
    for item in items:
        result = _compile_line(item, models)
        if isinstance(result, str):
            uncompiled.append(UncompiledRule(item, result))
            continue
        first = next((r for r in rules if r.is_default), None)
        if result.is_default and first is not None:
            uncompiled.append(UncompiledRule(item, f"a second default (the default is line {first.item.line})"))
            continue
        rules.append(result)
    return ModelRules(tuple(rules), tuple(uncompiled))


def _clean(text: str) -> str:
    text = re.sub(r"\s+", " ", text.replace("\u2019", "'")).strip()
    return text.rstrip(".;").strip()


def _compile_line(item: TextLine, models: ModelTable) -> ModelRule | str:
    text = _clean(item.text)
    for pattern in _DEFAULT_RES:
        match = pattern.match(text)
        if match:
            problem = _unknown_model(match.group("model"), models)
            scope = (match.group("scope") or "").strip(" ,.-\u2014()")
            return problem or ModelRule("default", match.group("model").lower(), item, scope=scope)
    for index, pattern in enumerate(_CONDITION_RES):
        match = pattern.match(text)
        if match is None:
            continue
        if models.get(match.group("model")) is not None:
            return _condition(item, match.group("model").lower(), match.group("cond"))
        if index == 0:  # "Use X for ...": X was meant as a model
            return _unknown_model(match.group("model"), models) or NO_PHRASING
    named = _named_model(text, models)
    if named:
        return f"names the model {named}, but " + NO_PHRASING[0].lower() + NO_PHRASING[1:]
    return NO_PHRASING


def _condition(item: TextLine, model: str, text: str) -> ModelRule | str:
    condition = read_condition(text)
    if condition.refusal:
        return condition.refusal
    if not condition.signals:
        unread = ", ".join(repr(u) for u in condition.unread)
        return f"no condition it names is understood ({unread}); conditions understood: {understood()}"
    name = " or ".join(s.name for s in condition.signals)
    return ModelRule(name, model, item, condition.signals, condition.unread)


def _unknown_model(word: str, models: ModelTable) -> str | None:
    if models.get(word) is not None:
        return None
    known = ", ".join(sorted(models.models))
    return f"'{word}' is not a model in the model table (known: {known})"


def _named_model(text: str, models: ModelTable) -> str | None:
    return next((w for w in re.findall(r"[\w.\-]+", text) if models.get(w) is not None), None)
