"""Front matter phrasings: required keys, front matter present, allowed values, counts.

Each recognises one family of sentences (matched ignoring case, quotes,
backticks, commas and "and") and either compiles it into expectations or,
when it could only guess, says why it is not machine-checked.
"""

from __future__ import annotations

import re

from orchestrator.validators.expectations import (
    CONTENT_RULES,
    AllowedValues,
    Expectation,
    FrontMatterRequired,
    MinItems,
    RequiredKeys,
)
from orchestrator.validators.phrase_common import (
    AT_LEAST,
    FM,
    HAVE,
    IGNORE_CASE,
    MODAL,
    SUBJECT,
    Q,
    source_of,
)
from orchestrator.validators.registry import Compiled, NotCheckable, PhrasingResult, RuleScope
from orchestrator.validators.textutil import KEY, NUM, clean, number, resolve_key, split_list

# --- front matter keys ---------------------------------------------------------

_KEYS_RE = re.compile(
    rf"^{SUBJECT}{MODAL}(?:{HAVE}\s+)?(?:(?:a|the)\s+)?(?:required\s+)?{FM}"
    rf"(?:\s+(?:keys|fields|block))?"
    rf"(?:\s*:\s*|\s+{MODAL}{HAVE}\s+(?:(?:the\s+)?(?:keys?|fields?)\s*:?\s*)?|\s+with\s+(?:keys?|fields?)\s*:?\s*)"
    rf"(?P<list>.+)$",
    IGNORE_CASE,
)
_ITEM_KEY_RE = re.compile(rf"^{Q}(?P<key>{KEY}){Q}$")
_ITEM_MIN_RE = re.compile(
    rf"^(?:{AT_LEAST}\s+(?P<n>{NUM})\s+{Q}(?P<key>{KEY}){Q}|(?P<n2>{NUM})\s+or\s+more\s+{Q}(?P<key2>{KEY}){Q})$",
    IGNORE_CASE,
)
_ITEM_KEY_MIN_RE = re.compile(
    rf"^{Q}(?P<key>{KEY}){Q}\s*\(\s*{AT_LEAST}\s+(?P<n>{NUM})(?:\s+(?:items?|entries|values))?\s*\)$",
    IGNORE_CASE,
)
_ITEM_KEY_ONE_OF_RE = re.compile(
    rf"^{Q}(?P<key>{KEY}){Q}\s*\(\s*(?:(?:must\s+be|is)\s+)?one\s+of\s*:?\s*(?P<values>.+)\)$", IGNORE_CASE
)


class FrontMatterKeys:
    """Required keys: "Every output needs front matter: a, b, c".

    Also "Front matter includes a, b, and at least 2 tags" (adds a count) and
    "a, b (one of X, Y), c" (adds allowed values).
    """

    name = "front matter keys"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        match = _KEYS_RE.match(clean(text))
        if not match:
            return None
        keys: list[str] = []
        found: list[Expectation] = []
        for item in split_list(match.group("list")):
            reason = _read_key_item(item, scope, keys, found)
            if reason:
                return NotCheckable(reason)
        if not keys:
            return NotCheckable("names no front matter keys")
        return Compiled((RequiredKeys(source_of(scope), tuple(keys)), *found))


def _read_key_item(item: str, scope: RuleScope, keys: list[str], found: list[Expectation]) -> str | None:
    """Add one list item's key (and its count or values); return a reason if it is not a key."""
    source = source_of(scope)
    if m := _ITEM_KEY_RE.match(item):
        keys.append(_key(m.group("key"), scope))
    elif m := _ITEM_MIN_RE.match(item):
        key = _key(m.group("key") or m.group("key2"), scope)
        keys.append(key)
        found.append(MinItems(source, key, number(m.group("n") or m.group("n2")) or 0))
    elif m := _ITEM_KEY_MIN_RE.match(item):
        key = _key(m.group("key"), scope)
        keys.append(key)
        found.append(MinItems(source, key, number(m.group("n")) or 0))
    elif m := _ITEM_KEY_ONE_OF_RE.match(item):
        key = _key(m.group("key"), scope)
        values = _closed_values(m.group("values"), scope, key)
        if isinstance(values, str):
            return values
        keys.append(key)
        found.append(AllowedValues(source, key, values))
    else:
        return f"'{item}' is not a front matter key name (write keys as single words, e.g. term, category, tags)"
    return None


def _key(word: str, scope: RuleScope) -> str:
    """The reference's spelling of a key named in a rule (case and plural leniency)."""
    return resolve_key(word, scope.known_keys()) or word


class FrontMatterPresent:
    """ "Every output has front matter"; "Front matter is valid YAML"."""

    name = "front matter present"
    _RE = re.compile(
        rf"^(?:{SUBJECT}{MODAL}(?:{HAVE}|starts?\s+with|begins?\s+with)\s+(?:(?:a|an|the)\s+)?{FM}(?:\s+block)?"
        rf"|(?:the\s+)?{FM}(?:\s+block)?\s+(?:is|must\s+be|should\s+be)\s+(?:present|valid(?:\s+yaml)?|yaml|parseable))$",
        IGNORE_CASE,
    )

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        if not self._RE.match(clean(text)):
            return None
        return Compiled((FrontMatterRequired(source_of(scope)),))


# --- allowed values ---------------------------------------------------------------

_ONE_OF_RE = re.compile(
    rf"^(?:the\s+)?(?:{FM}\s+)?(?:(?:key|field|value\s+of)\s+)?{Q}(?P<key>{KEY}){Q}"
    rf"(?:\s+(?:key|field|value))?\s*(?:(?:must|should|shall|has\s+to|needs\s+to)\s+be|is|are|:)\s+"
    rf"(?:exactly\s+)?(?:(?:any\s+)?one\s+of(?:\s+the\s+following)?|either)\s*:?\s*(?P<rest>.+)$",
    IGNORE_CASE,
)
_ALLOWED_FOR_RE = re.compile(
    rf"^(?:allowed|valid|permitted|accepted)\s+(?:values\s+(?:for|of)\s+{Q}(?P<key>{KEY}){Q}|{Q}(?P<key2>{KEY}){Q}\s+values"
    rf"|{Q}(?P<key3>{KEY}){Q})"
    rf"\s*(?::|are|is)\s*(?P<rest>.+)$",
    IGNORE_CASE,
)
_LISTED_IN_RE = re.compile(
    rf"^the\s+(?:(?P<n>{NUM})\s+)?(?:allowed\s+)?(?:values|options|categories|choices)\s+"
    rf"(?:(?:listed|given|named|defined|allowed|shown|stated)\s+)?(?:in|under|by)\s+(?:the\s+)?"
    rf"(?P<where>content\s+rules|format\s+reference|reference)(?:\s+section)?$",
    IGNORE_CASE,
)
_MUST_BE_RE = re.compile(
    rf"^(?:the\s+)?{Q}(?P<key>{KEY}){Q}(?:\s+(?:key|field|value))?\s+(?:must|should|shall|has\s+to|needs\s+to)\s+be\s+"
    r"(?P<rest>.+?\s+or\s+.+)$",
    IGNORE_CASE,
)
_OPEN_LIST_RE = re.compile(r"\b(?:etc|e\.g|for\s+example|such\s+as|like)\b|\.\.\.|…", IGNORE_CASE)


class AllowedValuesPhrasing:
    """ "X must be one of: A, B, C"; "X is one of the four values listed in Content Rules".

    Also "X must be A, B or C" when the reference's own value of X is in the list."""

    name = "allowed values"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        cleaned = clean(text)
        match = _ONE_OF_RE.match(cleaned) or _ALLOWED_FOR_RE.match(cleaned)
        if not match:
            return _must_be_list(cleaned, scope)
        bare = match.groupdict().get("key3")
        if bare:  # "Valid categories: A, B": only when the noun is a key of the reference
            key = resolve_key(bare, scope.reference.keys) or ""
            if not key:
                return None
        else:
            key = _key(match.group("key") or match.group("key2"), scope)
        rest = match.group("rest").strip()
        listed = _LISTED_IN_RE.match(rest)
        values = _referenced_values(listed, scope, key) if listed else _closed_values(rest, scope, key)
        if isinstance(values, str):
            return NotCheckable(values)
        return Compiled((AllowedValues(source_of(scope), key, values),))


def _must_be_list(text: str, scope: RuleScope) -> PhrasingResult:
    """ "X must be A, B or C": a list of values only when X is a single-valued key of the
    reference and the reference's own value is one of them (else "must be short or clear"
    would become a list of allowed values)."""
    match = _MUST_BE_RE.match(text)
    key = resolve_key(match.group("key"), scope.known_keys()) if match else None
    if match is None or key is None:
        return None
    example = scope.reference.doc.front_matter.entries.get(key)
    if example is None or not isinstance(example.value, str):
        return None
    values = _closed_values(match.group("rest"), scope, key)
    if isinstance(values, str):
        return NotCheckable(values)
    if example.value not in values:
        return NotCheckable(
            f"reads like a list of values for '{key}', but the format reference's own value "
            f"'{example.value}' is not among them ({', '.join(values)}); write '{key} must be one of: A, B, C'"
        )
    return Compiled((AllowedValues(source_of(scope), key, values),))


def _closed_values(text: str, scope: RuleScope, key: str) -> tuple[str, ...] | str:
    """The values of a closed list, or why the list is not closed."""
    if _OPEN_LIST_RE.search(text):
        return f"the list of values for '{key}' is open-ended ('{text}'), so no value can be rejected"
    example = scope.reference.doc.front_matter.entries.get(key)
    known = [example.value] if example and isinstance(example.value, str) else []
    values = tuple(split_list(text, known))
    return values if values else f"names no values for '{key}'"


def _referenced_values(listed: re.Match[str], scope: RuleScope, key: str) -> tuple[str, ...] | str:
    """Values another rule lists; the count, if the line gives one, must agree."""
    if "rules" not in listed.group("where").lower():
        where = listed.group("where")
        return f"points to values in the {where}, which shows one example, not the allowed set"
    earlier = [e for e in scope.so_far.of(AllowedValues) if e.key == key and e.source.section == CONTENT_RULES]
    if not earlier:
        return f"refers to values listed in Content Rules, but no Content Rules line lists allowed values for '{key}'"
    values = earlier[0].values
    said = number(listed.group("n")) if listed.group("n") else None
    if said is not None and said != len(values):
        listed_values = ", ".join(values)
        count = len(values)
        return f"says {listed.group('n')} values, but Content Rules lists {count}: {listed_values}"
    return values


# --- counts -------------------------------------------------------------------------

_COUNT_RES = (
    re.compile(
        rf"^(?:(?:the\s+)?(?:{FM}\s+)?(?:{MODAL}{HAVE}\s+))?{AT_LEAST}\s+(?P<n>{NUM})\s+{Q}(?P<key>{KEY}){Q}$",
        IGNORE_CASE,
    ),
    re.compile(rf"^(?:{MODAL}{HAVE}\s+)?(?P<n>{NUM})\s+or\s+more\s+{Q}(?P<key>{KEY}){Q}$", IGNORE_CASE),
    re.compile(
        rf"^(?:the\s+)?{Q}(?P<key>{KEY}){Q}(?:\s+(?:list|key|field))?\s+{MODAL}(?:{HAVE}|holds?|be)\s+"
        rf"{AT_LEAST}\s+(?P<n>{NUM})(?:\s+(?:items?|entries|values|elements|tags|{KEY}))?$",
        IGNORE_CASE,
    ),
    re.compile(
        rf"^{Q}(?P<key>{KEY}){Q}\s*:\s*(?:{AT_LEAST}\s+(?P<n>{NUM})|(?P<n2>{NUM})\s*(?:or\s+more|\+))"
        r"(?:\s+(?:items?|entries|values|elements))?$",
        IGNORE_CASE,
    ),
)


class MinItemsPhrasing:
    """ "At least 2 tags"; "tags has at least 2 items"; "3 or more ingredients"; "tags: 2 or more"."""

    name = "counts"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        cleaned = clean(text)
        match = next((m for r in _COUNT_RES if (m := r.match(cleaned))), None)
        if not match:
            return None
        word = match.group("key")
        key = resolve_key(word, scope.known_keys())
        if key is None:
            return NotCheckable(
                f"'{word}' is not a front matter key of the format reference; only front matter lists can be counted"
            )
        count = match.group("n") or match.groupdict().get("n2") or ""
        return Compiled((MinItems(source_of(scope), key, number(count) or 0),))
