"""The fake model: writes a new document about the title in the reference's shape.

Content is deterministic per ``(seed, title)``: the same front matter keys in
the same order (the first holding the title, an enum key one of its allowed
values, a list at least three lowercase-hyphenated tags in the reference's list
style), the same ``## `` sections in order with prose about the title, and a
table wherever the reference has one. Each section's length follows the
reference's, so output tokens land within about 20 % of the reference's and
estimates made from the reference are realistic.

First drafts (one user turn) may carry the mistakes real models make, each
decided by the simulator's shared RNG: a near-miss enum value, a missing
section, a code fence with chatter, or a cut-off text. A repair turn gets a
clean document, except for titles that :func:`never_valid` selects, which keep
a wrong enum value however often they are asked.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from orchestrator.sim.config import SimConfig
from orchestrator.sim.reference import Brief, FrontMatterEntry, Part, Reference, Section, read_brief
from orchestrator.sim.tokens import count_text

#: ``chance(p)`` is True with probability ``p`` (the server's shared, locked RNG).
Chance = Callable[[float], bool]

_SENTENCES = (
    "{T} is easiest to understand through the problem it solves and the cost it adds.",
    "In practice, {T} matters most when the simple approach stops being good enough.",
    "Teams usually meet {T} while chasing a problem that looked impossible on paper.",
    "A useful way to think about {T} is as a trade-off rather than a fixed rule.",
    "The core idea behind {T} fits in one sentence, but applying it well takes judgement.",
    "When {T} is applied carelessly, the symptoms tend to appear far from the cause.",
    "{T} rarely stands alone; it leans on the ideas around it and shapes them in turn.",
    "Getting {T} right early is far cheaper than retrofitting it once a system is live.",
    "Implementations of {T} differ in detail, but the underlying shape stays the same.",
    "Measuring the effect of {T} is the surest way to tell whether it pulls its weight.",
    "A common mistake is to treat {T} as free, when it always costs something somewhere.",
    "For {S}, the point about {T} is what it guarantees and what it leaves open.",
    "Seen through {S}, {T} comes down to the question it lets you answer with confidence.",
    "Most of the confusion around {T} comes from mixing up the goal with the mechanism.",
    "The clearest examples of {T} come from systems that failed without it.",
    "{T} also changes how people reason about failures, not just how software behaves.",
)
_LABELS = (
    "Typical use",
    "Main benefit",
    "Main cost",
    "Common pitfall",
    "Where it appears",
    "Related idea",
    "First sign of trouble",
    "Rule of thumb",
)
_PHRASES = (
    "Where it earns its keep",
    "The overhead it adds to each operation",
    "Assuming it holds when a dependency breaks it",
    "Wherever several parts must agree",
    "Ideas that are often confused with it",
    "Keep it simple until measurements disagree",
    "Slow or inconsistent results",
    "Rarely needed in small systems",
)
_STOP_WORDS = frozenset({"a", "an", "and", "the", "of", "vs", "versus", "for", "to", "in", "on", "with"})
_FILLER_TAGS = ("overview", "concepts", "reference", "guide", "fundamentals")
_SUFFIXES = (
    ("ability", "able"),
    ("ibility", "ible"),
    ("ency", "ent"),
    ("ancy", "ant"),
    ("ity", ""),
    ("ness", ""),
    ("ing", ""),
    ("ion", "e"),
    ("s", ""),
)


@dataclass(frozen=True)
class Reply:
    """The assistant's text and why it stopped."""

    text: str
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int


@dataclass(frozen=True)
class Flaws:
    bad_enum: bool = False
    missing_section: bool = False
    fenced: bool = False
    truncated: bool = False


def reply(request: Mapping[str, Any], config: SimConfig, chance: Chance) -> Reply:
    """The fake model's answer to a Messages API request."""
    brief = read_brief(request)
    flaws = choose_flaws(brief, config, chance)
    text = write(brief, config.seed, flaws)
    stop_reason = "end_turn"
    if flaws.truncated:
        text = text[: len(text) // 2]
        stop_reason = "max_tokens"
    stop_sequence = None
    for seq in request.get("stop_sequences") or []:
        if isinstance(seq, str) and seq and seq in text:
            text, stop_reason, stop_sequence = text[: text.index(seq)], "stop_sequence", seq
    tokens = count_text(text, config.chars_per_token)
    max_tokens = request.get("max_tokens")
    if isinstance(max_tokens, int) and tokens > max_tokens:
        text = text[: int(max_tokens * config.chars_per_token)]
        tokens, stop_reason, stop_sequence = max_tokens, "max_tokens", None
    return Reply(text, stop_reason, stop_sequence, tokens)


def choose_flaws(brief: Brief, config: SimConfig, chance: Chance) -> Flaws:
    """First drafts roll every flaw; repairs are clean unless the title never validates."""
    doomed = never_valid(brief.title, config.seed, config.pnever_valid)
    if brief.user_turns > 1:
        return Flaws(bad_enum=doomed)
    return Flaws(
        bad_enum=chance(config.pbad_enum) or doomed,
        missing_section=chance(config.pmissing_section),
        fenced=chance(config.pfenced),
        truncated=chance(config.ptruncated),
    )


def never_valid(title: str, seed: int, p: float) -> bool:
    """Whether ``title`` is one of the rows that never produce a valid document."""
    return p > 0 and _unit(f"{seed}\x00never\x00{title}") < p


def write(brief: Brief, seed: int, flaws: Flaws = Flaws()) -> str:
    """The document for ``brief``, with ``flaws`` applied."""
    rng = random.Random(f"{seed}\x00{brief.title}")
    ref = brief.reference
    if ref is None:
        ref = _DEFAULT_REFERENCE
    enum_keys = [e.key for e in ref.front_matter if e.key.lower() in brief.enums]
    doc_flaws = flaws
    if flaws.bad_enum and not enum_keys:  # nothing to misspell: fail some other way
        doc_flaws = Flaws(missing_section=True, fenced=flaws.fenced or len(ref.sections) < 2)
    front = _front_matter(ref, brief, seed, rng, bad_enum=doc_flaws.bad_enum)
    target = round(_reference_chars(ref) * rng.uniform(0.88, 1.04)) - len(front)
    sections = list(ref.sections)
    headed = [i for i, s in enumerate(sections) if s.heading is not None]
    if doc_flaws.missing_section and headed:
        dropped = sections.pop(headed[rng.randrange(len(headed))])
        target -= dropped.chars + len(dropped.heading or "") + 5
    body = _body(sections, short_name(brief.title), target, rng)
    text = f"{front}{body}\n"
    if doc_flaws.fenced:
        text = f"Here is the file:\n\n```markdown\n{text}```\n"
    return text


def short_name(title: str) -> str:
    """How prose refers to the title: without a subtitle or a parenthetical."""
    name = re.sub(r"\s*\([^)]*\)", "", title)
    name = re.split(r":\s| - | \u2014 ", name, maxsplit=1)[0].strip()
    return name or title


def near_miss(value: str, allowed: tuple[str, ...] = ()) -> str:
    """A plausible wrong spelling of ``value`` ("Consistency" -> "Consistent")."""
    taken = set(allowed) | {value}
    for suffix, repl in _SUFFIXES:
        if value.lower().endswith(suffix) and len(value) > len(suffix) + 2:
            candidate = value[: -len(suffix)] + repl
            if candidate not in taken:
                return candidate
    for candidate in (value.lower(), value.upper(), value + "s"):
        if candidate not in taken:
            return candidate
    return value + "-x"


# --- front matter ------------------------------------------------------------


def _front_matter(ref: Reference, brief: Brief, seed: int, rng: random.Random, *, bad_enum: bool) -> str:
    if not ref.front_matter:
        return ""
    lines = ["---"]
    for i, entry in enumerate(ref.front_matter):
        allowed = brief.enums.get(entry.key.lower(), ())
        if i == 0 and entry.kind == "scalar":
            lines.append(_scalar_line(entry, brief.title))
        elif allowed and entry.kind == "scalar":
            value = _enum_value(entry.key, allowed, brief, seed)
            lines.append(_scalar_line(entry, near_miss(value, allowed) if bad_enum else value))
        elif entry.key.lower() in brief.details and entry.kind == "scalar":
            lines.append(_scalar_line(entry, brief.details[entry.key.lower()]))
        elif entry.kind in ("flow_list", "block_list"):
            lines.extend(_list_lines(entry, _tags(entry, ref, brief, seed)))
        elif entry.kind == "nested":
            lines.extend([f"{entry.key}:", *entry.raw])
        else:
            value = _scalar_value(entry.value, ref.title, brief.title, rng)
            lines.append(_scalar_line(entry, value))
    return "\n".join(lines) + "\n---\n\n"


def _enum_value(key: str, allowed: tuple[str, ...], brief: Brief, seed: int) -> str:
    wanted = brief.details.get(key.lower(), "")
    for value in allowed:
        if value.lower() == wanted.lower():
            return value
    for value in allowed:  # a title that names a value gets it ("CAP: ... Consistency ...")
        if re.search(rf"\b{re.escape(value.lower())}\b", brief.title.lower()):
            return value
    return allowed[int(_unit(f"{seed}\x00{key}\x00{brief.title}") * len(allowed))]


def _tags(entry: FrontMatterEntry, ref: Reference, brief: Brief, seed: int) -> list[str]:
    ref_slug = _slug(ref.title)
    tags = [_slug(t) for t in entry.items[:1] if _slug(t) != ref_slug]
    for key, allowed in brief.enums.items():
        if any(e.key.lower() == key for e in ref.front_matter):
            tags.append(_slug(_enum_value(key, allowed, brief, seed)))
    words = re.findall(r"\w+", short_name(brief.title))
    words = [w for w in words if w.lower() not in _STOP_WORDS]
    if len(words) <= 3:
        tags.append(_slug(" ".join(words)))
    tags.extend(_slug(w) for w in words if len(w) > 3)
    tags.extend(_FILLER_TAGS)
    unique = list(dict.fromkeys(t for t in tags if t))
    return unique[: max(3, len(entry.items))]


def _list_lines(entry: FrontMatterEntry, items: list[str]) -> list[str]:
    if entry.kind == "flow_list":
        return [f"{entry.key}: [{', '.join(items)}]"]
    return [f"{entry.key}:", *(f"{entry.item_prefix}{item}" for item in items)]


def _scalar_value(value: str, ref_title: str, title: str, rng: random.Random) -> str:
    if ref_title and ref_title.lower() in value.lower():
        return re.sub(re.escape(ref_title), title, value, flags=re.I)
    if ref_title and value == _slug(ref_title):
        return _slug(title)
    if " " not in value.strip():  # numbers, dates, booleans, fixed words: keep
        return value
    text = _prose(title, "", max(20, len(value)), rng, paragraph_chars=10_000)
    return text if value.rstrip().endswith(".") else text.rstrip(".")


def _scalar_line(entry: FrontMatterEntry, value: str) -> str:
    kept = value == entry.value  # kept from the reference: written as it was
    quote = entry.quote or ("" if kept or not _needs_quotes(value) else '"')
    if quote == '"':
        value = value.replace("\\", "\\\\").replace('"', '\\"')
    elif quote == "'":
        value = value.replace("'", "''")
    return f"{entry.key}: {quote}{value}{quote}"


def _needs_quotes(value: str) -> bool:
    return (
        not value
        or value != value.strip()
        or ": " in value
        or " #" in value
        or value.endswith(":")
        or value[0] in "[]{}&*!|>'\"%@`,?-#"
        or value.lower() in {"true", "false", "yes", "no", "on", "off", "null", "~"}
        or bool(re.fullmatch(r"[-+.\d][\d._:eE+-]*", value))
    )


# --- body --------------------------------------------------------------------


@dataclass(frozen=True)
class _Slot:
    """Prose to write once the whole document's prose budget is known."""

    weight: int  # the reference's prose length here
    section: str
    optional: bool = False  # added to a section the reference left without prose


def _body(sections: list[Section], title: str, target: int, rng: random.Random) -> str:
    """The sections, with prose sized so the whole lands near ``target`` characters."""
    layouts = [_layout(s, title, rng) for s in sections]
    blocks = [b for layout in layouts for b in layout]
    fixed = sum(len(b) for b in blocks if isinstance(b, str)) + 2 * len(blocks)
    slots = [b for b in blocks if isinstance(b, _Slot)]
    budget = max(0, target - fixed)
    weight = sum(s.weight for s in slots) or 1
    rendered = []
    for layout in layouts:
        texts = []
        for block in layout:
            if isinstance(block, str):
                texts.append(block)
                continue
            share = budget * block.weight // weight
            if share >= 40 or not block.optional:
                texts.append(_prose(title, block.section, share, rng))
        rendered.append("\n\n".join(texts))
    return "\n\n".join(rendered)


def _layout(section: Section, title: str, rng: random.Random) -> list[str | _Slot]:
    name = section.heading or "overview"
    blocks: list[str | _Slot] = []
    if section.heading is not None:
        blocks.append(f"## {section.heading}")
        if not any(p.kind == "prose" for p in section.parts):
            blocks.append(_Slot(60, name, optional=True))
    elif section.h1:
        blocks.append(f"# {title}")
    for part in section.parts:
        if part.kind == "prose":
            blocks.append(_Slot(max(part.chars, 1), name))
        elif part.kind == "heading":
            blocks.append(part.text)
        elif part.kind == "table":
            blocks.append(_table(part, title, rng))
        else:
            blocks.append(_list(part, title, rng))
    return blocks


def _reference_chars(ref: Reference) -> int:
    if ref.text:
        return len(ref.text.strip()) + 1
    return sum(s.chars + len(s.heading or "") + 5 for s in ref.sections)


def _table(part: Part, title: str, rng: random.Random) -> str:
    rows = []
    phrases = rng.sample(_PHRASES, len(_PHRASES))
    for n, label in enumerate(rng.sample(_LABELS, 3)):
        width = len(part.header) - 1
        cells = [label] + [phrases[(n * width + k) % len(phrases)] for k in range(width)]
        rows.append(_row([c.replace("|", "\\|") for c in cells], part.outer_pipes))
    return "\n".join([_row(list(part.header), part.outer_pipes), part.text, *rows])


def _row(cells: list[str], outer: bool) -> str:
    inner = " | ".join(cells)
    return f"| {inner} |" if outer else inner


def _list(part: Part, title: str, rng: random.Random) -> str:
    items = []
    phrases = rng.sample(_PHRASES, len(_PHRASES))
    for n in range(max(1, part.count)):
        marker = f"{n + 1}. " if part.text[0].isdigit() else part.text
        items.append(marker + phrases[n % len(phrases)])
    return "\n".join(items)


def _prose(title: str, section: str, chars: int, rng: random.Random, paragraph_chars: int = 480) -> str:
    """Sentences about ``title`` filling about ``chars`` characters, in paragraphs."""
    pool = [t.format(T=title, S=section.lower()) for t in _SENTENCES if section or "{S}" not in t]
    pool = [p[0].upper() + p[1:] for p in pool]
    rng.shuffle(pool)
    paragraphs: list[str] = []
    current: list[str] = []
    total = 0
    n = 0
    while True:
        remaining = chars - total
        sentence = pool[n % len(pool)]
        n += 1
        if current and len(sentence) > remaining:  # last one: the best fit, or none
            unused = [p for p in pool if p not in current] or pool
            sentence = min(unused, key=lambda p: abs(len(p) - remaining))
            if abs(len(sentence) - remaining) < remaining:
                current.append(sentence)
            break
        current.append(sentence)
        total += len(sentence) + 1
        if total >= chars and len(current) == 1:
            break
        if sum(len(s) + 1 for s in current) >= paragraph_chars:
            paragraphs.append(" ".join(current))
            current = []
            total += 1
    if current:
        paragraphs.append(" ".join(current))
    return "\n\n".join(paragraphs)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _unit(text: str) -> float:
    """A deterministic number in [0, 1) from ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def _default_reference() -> Reference:
    prose = Part("prose", 420)
    return Reference(
        front_matter=(),
        sections=(
            Section(None, (), 0, h1=True),
            Section("Overview", (prose,), 420),
            Section("Details", (prose,), 420),
            Section("Summary", (Part("prose", 200),), 200),
        ),
        text="",
    )


_DEFAULT_REFERENCE = _default_reference()
