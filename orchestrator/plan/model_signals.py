"""What a Model Selection Rule can recognise in a row: the signals it compiles into.

A condition such as "any task that compares or synthesizes" names
*concepts*; each concept known here says which words of a rule name it and
what it looks for in a row's title ("compares": the title has "vs",
"versus", "comparison", ...). Two more signals are exact rather than
conceptual: a literal the title contains (``titles containing "deep
dive"``) and a column's value (``rows whose Depth is deep``). Nothing else
is inferred: a condition naming none of these is not compiled.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_I = re.IGNORECASE


@dataclass(frozen=True)
class Concept:
    """A family of conditions: the words naming it in a rule, the evidence for it in a title."""

    name: str
    named_by: re.Pattern[str]
    evidence: tuple[re.Pattern[str], ...]
    looks_for: str  # for people: what the title must contain


def _concept(name: str, named_by: str, evidence: tuple[str, ...], looks_for: str) -> Concept:
    return Concept(name, re.compile(named_by, _I), tuple(re.compile(p, _I) for p in evidence), looks_for)


CONCEPTS: tuple[Concept, ...] = (
    _concept(
        "compares",
        r"\b(?:compar\w*|contrast\w*|versus|vs\b\.?|differences?\s+between)",
        (r"\bvs\b\.?", r"\bversus\b", r"\bcompar(?:e|ed|es|ing|ison|isons)\b", r"\bcontrast\w*",
         r"\bdifferences?\s+between\b"),
        '"vs", "versus", "compare(d/s)", "comparison", "contrast" or "difference(s) between"',
    ),
    _concept(
        "synthesizes",
        r"\bsynthes\w*",
        (r"\bsynthes\w*",),
        '"synthesis" (as in "(synthesis)"), "synthesize" or "synthesise"',
    ),
    _concept(
        "surveys",
        r"\b(?:overviews?|surveys?|round-?ups?)\b",
        (r"\boverviews?\b", r"\bsurveys?\b", r"\bround-?ups?\b"),
        '"overview", "survey" or "roundup"',
    ),
)


@dataclass(frozen=True)
class Signal:
    """One compiled condition: a concept, a literal in the title, or a column's value."""

    name: str  # "compares", 'title contains "deep dive"', "Depth is deep"
    said: str  # the words of the rule it was read from
    looks_for: str
    concept: Concept | None = None
    literal: str | None = None
    column: str | None = None
    value: str | None = None

    def evidence(self, title: str, cells: Mapping[str, str]) -> str | None:
        """Why a row with ``title`` and ``cells`` matches, or None when it does not."""
        if self.concept is not None:
            for pattern in self.concept.evidence:
                found = pattern.search(title)
                if found:
                    return f'title has "{found.group(0)}"'
            return None
        if self.literal is not None:
            return f'title contains "{self.literal}"' if self.literal.casefold() in title.casefold() else None
        if self.column is not None and self.value is not None:
            value = next((v for k, v in cells.items() if _norm(k) == _norm(self.column)), None)
            if value is not None and value.strip().casefold() == self.value.casefold():
                return f"{self.column} is {value.strip()}"
        return None


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


_NEGATION_RE = re.compile(r"\b(?:not|no|never|without|except|unless|isn't|doesn't|don't)\b", _I)
_COLUMN_RE = re.compile(
    r"^(?:any\s+|all\s+|the\s+|each\s+|every\s+)?(?:rows?|tasks?|entries|items)\s+(?:whose|where|with)\s+"
    r"(?:the\s+)?(?P<col>[A-Za-z][\w \-]*?)\s+(?:column\s+)?(?:is|=|==|equals|of)\s+(?P<val>.+)$",
    _I,
)
_LITERAL_LEAD_RE = re.compile(
    r"^(?:any\s+|all\s+|the\s+)?(?:titles?|tasks?|rows?|entries)\s+(?:that\s+|whose\s+titles?\s+)?"
    r"(?:contains?|containing|includes?|including|mentions?|mentioning|marked|tagged|ending\s+(?:in|with)|"
    r"ends\s+(?:in|with)|with)\s+(?P<rest>.+)$",
    _I,
)
_LITERAL_RE = re.compile(r"\"([^\"]+)\"|`([^`]+)`|'([^']+)'|(\([^()]+\))")
_PART_SPLIT_RE = re.compile(r"\s*[,;/]\s*|\s+(?:or|and)\s+", _I)


@dataclass(frozen=True)
class Condition:
    """What a rule's condition compiled into, and the parts of it not understood."""

    signals: tuple[Signal, ...]
    unread: tuple[str, ...]
    refusal: str | None = None  # why nothing can be compiled (e.g. a negation)


def read_condition(text: str) -> Condition:
    """Compile the condition part of a rule ("any task that compares or synthesizes")."""
    cond = text.strip().rstrip(".").strip()
    if _NEGATION_RE.search(cond):
        return Condition((), (cond,), f"a negated condition ('{cond}') is not understood")
    column = _COLUMN_RE.match(cond)
    if column:
        col, value = column.group("col").strip(), _unquote(column.group("val"))
        name = f"{col} is {value}"
        return Condition((Signal(name, cond, f"the row's {col} column is {value}", column=col, value=value),), ())
    lead = _LITERAL_LEAD_RE.match(cond)
    if lead:
        literals = [next(g for g in m.groups() if g) for m in _LITERAL_RE.finditer(lead.group("rest"))]
        if literals:
            return Condition(tuple(_literal(lit, cond) for lit in literals), ())
    return _concepts(cond)


def _literal(literal: str, said: str) -> Signal:
    return Signal(f'title contains "{literal}"', said, f'"{literal}" in the title (any case)', literal=literal)


def _concepts(cond: str) -> Condition:
    signals: list[Signal] = []
    unread: list[str] = []
    for part in (p.strip() for p in _PART_SPLIT_RE.split(cond)):
        if not part:
            continue
        concept = next((c for c in CONCEPTS if c.named_by.search(part)), None)
        if concept is None:
            unread.append(part)
        elif all(s.concept is not concept for s in signals):
            signals.append(Signal(concept.name, part, f"the title has {concept.looks_for}", concept=concept))
    return Condition(tuple(signals), tuple(unread))


def _unquote(text: str) -> str:
    text = text.strip().rstrip(".").strip()
    for mark in ('"', "'", "`"):
        if len(text) > 1 and text.startswith(mark) and text.endswith(mark):
            return text[1:-1].strip()
    return text


def understood() -> str:
    """The conditions understood, for messages."""
    names = ", ".join(c.name for c in CONCEPTS)
    return f'{names}; titles containing "TEXT"; rows whose COLUMN is VALUE'
