"""The built-in rule phrasings: how plan lines written by people become expectations.

Each phrasing recognises one family of sentences (matched ignoring case,
quotes, backticks, commas and "and") and either compiles it into
expectations or, when it recognises the sentence but could only guess, says
why it is not machine-checked. A phrasing that does not recognise a line
returns ``None`` and the next one is tried. docs/validation.md lists them.
"""

from __future__ import annotations

import re
import shlex

from orchestrator.validators.document import heading_key
from orchestrator.validators.expectations import (
    CONTENT_RULES,
    AllowedValues,
    Expectation,
    FrontMatterRequired,
    LintCommand,
    MinItems,
    Registered,
    RequiredKeys,
    RequiredSections,
    Source,
    TableBlankAfter,
    TableBlankBefore,
)
from orchestrator.validators.registry import (
    Compiled,
    NotCheckable,
    Phrasing,
    PhrasingResult,
    RuleScope,
)
from orchestrator.validators.textutil import (
    KEY,
    NUM,
    clean,
    number,
    resolve_key,
    split_list,
    unwrap,
)

_I = re.IGNORECASE
_Q = r"[`'\"]?"  # an optional quote or backtick around a key
_FM = r"(?:yaml\s+)?front[\s-]?matter"
_SUBJECT = r"(?:(?:every|each|all|the|an?)\s+(?:output|file|document|entry|card|page|result)s?\s+)?"
_MODAL = r"(?:(?:must|should|shall|will)\s+)?"
_HAVE = r"(?:needs?|has|have|requires?|includes?|including|contains?|containing|lists?|with|uses?)"
_AT_LEAST = r"(?:at\s+least|a\s+minimum\s+of|minimum\s+of|minimum|no\s+fewer\s+than)"


def _source(scope: RuleScope) -> Source:
    return Source(scope.section, scope.line, scope.text)


# --- front matter keys ---------------------------------------------------------

_KEYS_RE = re.compile(
    rf"^{_SUBJECT}{_MODAL}(?:{_HAVE}\s+)?(?:(?:a|the)\s+)?(?:required\s+)?{_FM}"
    rf"(?:\s+(?:keys|fields|block))?"
    rf"(?:\s*:\s*|\s+{_MODAL}{_HAVE}\s+(?:(?:the\s+)?(?:keys?|fields?)\s*:?\s*)?|\s+with\s+(?:keys?|fields?)\s*:?\s*)"
    rf"(?P<list>.+)$",
    _I,
)
_ITEM_KEY_RE = re.compile(rf"^{_Q}(?P<key>{KEY}){_Q}$")
_ITEM_MIN_RE = re.compile(
    rf"^(?:{_AT_LEAST}\s+(?P<n>{NUM})\s+{_Q}(?P<key>{KEY}){_Q}|(?P<n2>{NUM})\s+or\s+more\s+{_Q}(?P<key2>{KEY}){_Q})$",
    _I,
)
_ITEM_KEY_MIN_RE = re.compile(
    rf"^{_Q}(?P<key>{KEY}){_Q}\s*\(\s*{_AT_LEAST}\s+(?P<n>{NUM})(?:\s+(?:items?|entries|values))?\s*\)$",
    _I,
)
_ITEM_KEY_ONE_OF_RE = re.compile(
    rf"^{_Q}(?P<key>{KEY}){_Q}\s*\(\s*(?:(?:must\s+be|is)\s+)?one\s+of\s*:?\s*(?P<values>.+)\)$", _I
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
        return Compiled((RequiredKeys(_source(scope), tuple(keys)), *found))


def _read_key_item(item: str, scope: RuleScope, keys: list[str], found: list[Expectation]) -> str | None:
    """Add one list item's key (and its count or values); return a reason if it is not a key."""
    source = _source(scope)
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
        rf"^(?:{_SUBJECT}{_MODAL}(?:{_HAVE}|starts?\s+with|begins?\s+with)\s+(?:(?:a|an|the)\s+)?{_FM}(?:\s+block)?"
        rf"|(?:the\s+)?{_FM}(?:\s+block)?\s+(?:is|must\s+be|should\s+be)\s+(?:present|valid(?:\s+yaml)?|yaml|parseable))$",
        _I,
    )

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        if not self._RE.match(clean(text)):
            return None
        return Compiled((FrontMatterRequired(_source(scope)),))


# --- allowed values ---------------------------------------------------------------

_ONE_OF_RE = re.compile(
    rf"^(?:the\s+)?(?:{_FM}\s+)?(?:(?:key|field|value\s+of)\s+)?{_Q}(?P<key>{KEY}){_Q}"
    rf"(?:\s+(?:key|field|value))?\s*(?:(?:must|should|shall|has\s+to|needs\s+to)\s+be|is|are|:)\s+"
    rf"(?:exactly\s+)?(?:(?:any\s+)?one\s+of(?:\s+the\s+following)?|either)\s*:?\s*(?P<rest>.+)$",
    _I,
)
_ALLOWED_FOR_RE = re.compile(
    rf"^(?:allowed|valid|permitted|accepted)\s+(?:values\s+(?:for|of)\s+{_Q}(?P<key>{KEY}){_Q}|{_Q}(?P<key2>{KEY}){_Q}\s+values)"
    rf"\s*(?::|are|is)\s*(?P<rest>.+)$",
    _I,
)
_LISTED_IN_RE = re.compile(
    rf"^the\s+(?:(?P<n>{NUM})\s+)?(?:allowed\s+)?(?:values|options|categories|choices)\s+"
    rf"(?:(?:listed|given|named|defined|allowed|shown|stated)\s+)?(?:in|under|by)\s+(?:the\s+)?"
    rf"(?P<where>content\s+rules|format\s+reference|reference)(?:\s+section)?$",
    _I,
)
_OPEN_LIST_RE = re.compile(r"\b(?:etc|e\.g|for\s+example|such\s+as|like)\b|\.\.\.|…", _I)


class AllowedValuesPhrasing:
    """ "X must be one of: A, B, C"; "X is one of the four values listed in Content Rules"."""

    name = "allowed values"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        cleaned = clean(text)
        match = _ONE_OF_RE.match(cleaned) or _ALLOWED_FOR_RE.match(cleaned)
        if not match:
            return None
        key = _key(match.group("key") or match.group("key2"), scope)
        rest = match.group("rest").strip()
        listed = _LISTED_IN_RE.match(rest)
        values = _referenced_values(listed, scope, key) if listed else _closed_values(rest, scope, key)
        if isinstance(values, str):
            return NotCheckable(values)
        return Compiled((AllowedValues(_source(scope), key, values),))


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
        rf"^(?:(?:the\s+)?(?:{_FM}\s+)?(?:{_MODAL}{_HAVE}\s+))?{_AT_LEAST}\s+(?P<n>{NUM})\s+{_Q}(?P<key>{KEY}){_Q}$",
        _I,
    ),
    re.compile(rf"^(?:{_MODAL}{_HAVE}\s+)?(?P<n>{NUM})\s+or\s+more\s+{_Q}(?P<key>{KEY}){_Q}$", _I),
    re.compile(
        rf"^(?:the\s+)?{_Q}(?P<key>{KEY}){_Q}(?:\s+(?:list|key|field))?\s+{_MODAL}(?:{_HAVE}|holds?|be)\s+"
        rf"{_AT_LEAST}\s+(?P<n>{NUM})(?:\s+(?:items?|entries|values|elements|tags|{KEY}))?$",
        _I,
    ),
)


class MinItemsPhrasing:
    """ "At least 2 tags"; "tags has at least 2 items"; "3 or more ingredients"."""

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
        return Compiled((MinItems(_source(scope), key, number(match.group("n")) or 0),))


# --- sections ----------------------------------------------------------------------

_SECTION_WORD = r"(?:##\s*|h2\s+|level[\s-]?2\s+|top[\s-]level\s+)?(?:sections?|headings?|headers?)"
_SEC_VERB = r"(?:include|includes|has|have|contain|contains|needs?|requires?|uses?|with)"
_SEC_LEAD = rf"^{_SUBJECT}{_MODAL}(?:{_SEC_VERB}\s+)?(?:the\s+)?(?:following\s+)?"
_SEC_ORDER = (
    r"(?P<order>\s*,?\s*[(\u2014-]?\s*(?:(?:and\s+|all\s+)?(?:appear(?:ing)?\s+)?in\s+(?:that|this|the\s+same|"
    r"the\s+given|the\s+listed|exactly\s+that|exactly\s+this)\s+order|in\s+order|ordered|in\s+sequence)\s*\)?)?$"
)
_SEC_TAIL = r"(?:\s*,?\s*(?:are\s+|all\s+)?(?:present|required|included))?" + _SEC_ORDER
_SECTIONS_RES = (
    re.compile(
        rf"^(?:the\s+)?(?:sections?|headings?)\s+{_MODAL}(?:appear\s+|be\s+|come\s+)?in\s+(?:this|the\s+following)"
        rf"\s+order\s*:\s*(?P<list>.+)$",
        _I,
    ),
    re.compile(_SEC_LEAD + _SECTION_WORD + r"\s*:?\s*(?P<list>.+?)" + _SEC_TAIL, _I),
    re.compile(_SEC_LEAD + r"(?P<list>.+?)\s+" + _SECTION_WORD + _SEC_TAIL, _I),
)


class SectionsPhrasing:
    """Sections: "Include A, B, and C sections, in that order".

    Also "A, B, and C sections present, in that order", "Sections: A, B, C"
    (presence only) and "Sections appear in this order: A, B, C".
    """

    name = "sections"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        cleaned = clean(text)
        for index, pattern in enumerate(_SECTIONS_RES):
            match = pattern.match(cleaned)
            if match:
                ordered = index == 0 or bool(match.group("order"))
                return self._sections(match.group("list"), ordered, scope)
        return None

    def _sections(self, listed: str, ordered: bool, scope: RuleScope) -> PhrasingResult:
        known = scope.reference.headings
        names = [scope.reference.heading_spelling(n.lstrip("#").strip()) for n in split_list(listed, known)]
        known_keys = {heading_key(h) for h in known}
        if len(names) < 2 and not any(heading_key(n) in known_keys for n in names):
            return NotCheckable(f"'{listed}' does not name sections of the format reference")
        if len({heading_key(n) for n in names}) != len(names):
            return NotCheckable(f"names a section twice: {', '.join(names)}")
        return Compiled((RequiredSections(_source(scope), tuple(names), ordered=ordered),))


# --- tables -------------------------------------------------------------------------

_TABLE_RE = re.compile(r"\btables?\b", _I)
_BLANK_RE = re.compile(r"\b(?:blank|empty)\s+lines?\b|\bnewlines?\b", _I)
_NEGATION_RE = re.compile(r"\b(?:no|not|never|without|don'?t)\b", _I)
_BEFORE_RE = re.compile(r"\b(?:before|preced\w*|above|ahead\s+of)\b", _I)
_AFTER_RE = re.compile(r"\b(?:after|follow\w*|below)\b", _I)
_AROUND_RE = re.compile(r"\b(?:around|surround\w*|both\s+sides|either\s+side)\b", _I)


class TableSpacingPhrasing:
    """ "Blank line before every markdown table"; "blank lines around tables"."""

    name = "table spacing"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        if not (_TABLE_RE.search(text) and _BLANK_RE.search(text)):
            return None
        if _NEGATION_RE.search(text):
            return NotCheckable("a negated spacing rule is not understood")
        around = bool(_AROUND_RE.search(text))
        before = around or bool(_BEFORE_RE.search(text))
        after = around or bool(_AFTER_RE.search(text))
        if not (before or after):
            return NotCheckable("does not say whether the blank line goes before or after the table")
        found: list[Expectation] = []
        if before:
            found.append(TableBlankBefore(_source(scope)))
        if after:
            found.append(TableBlankAfter(_source(scope)))
        return Compiled(tuple(found))


# --- linter --------------------------------------------------------------------------

_LINT_RES = (
    re.compile(
        r"^(?:the\s+)?(?:(?:project'?s?|markdown)\s+)?(?:linter|lint|markdownlint|linting)\s+"
        r"(?:passes|is\s+clean|succeeds|is\s+ok|reports\s+nothing|clean)\s*(?:(?::|with|using|via|\u2014|-)\s*(?P<cmd>.*))?$",
        _I,
    ),
    re.compile(
        r"^(?:running\s+|run\s+)?`(?P<cmd>[^`]+)`\s+(?:passes|succeeds|exits\s+(?:with\s+)?0|is\s+clean)$",
        _I,
    ),
)
FILE_PLACEHOLDERS = (
    "<filepath>",
    "<file-path>",
    "<file>",
    "<path>",
    "<output-file>",
    "{filepath}",
    "{file}",
)
_PLACEHOLDER_RE = re.compile(r"<[^<>\s]+>|\{[^{}\s]*\}")


class LintPhrasing:
    """ "Linter passes: CMD <filepath>" (run only for a trusted plan)."""

    name = "linter"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        cleaned = re.sub(r"\s+", " ", text).strip().rstrip(".").strip()
        match = next((m for r in _LINT_RES if (m := r.match(cleaned))), None)
        if not match:
            return None
        command = unwrap(match.group("cmd") or "")
        if not command:
            return NotCheckable("names no command; write 'Linter passes: CMD <filepath>'")
        return _lint_command(command, scope)


def _lint_command(command: str, scope: RuleScope) -> PhrasingResult:
    placeholder = next((p for p in FILE_PLACEHOLDERS if p in command.lower()), None)
    others = [p for p in _PLACEHOLDER_RE.findall(command) if p.lower() not in FILE_PLACEHOLDERS]
    if others:
        return NotCheckable(f"the command contains the placeholder {others[0]}, which was never filled in")
    if placeholder is None:
        return NotCheckable(
            "the command has no <filepath> placeholder, so where the file goes is unclear; "
            "write 'Linter passes: CMD <filepath>'"
        )
    try:
        argv = tuple(shlex.split(re.sub(re.escape(placeholder), placeholder, command, flags=_I)))
    except ValueError as exc:
        return NotCheckable(f"the command cannot be split into arguments: {exc}")
    return Compiled((LintCommand(_source(scope), command, argv, placeholder),))


# --- registration --------------------------------------------------------------------

_REGISTERED_RE = re.compile(
    r"^(?:(?:each|every|the|an?)\s+)?(?:(?:output|file|entry|result)s?\s+)?(?:is\s+|are\s+|must\s+be\s+|gets\s+)?"
    r"(?:registered|listed|recorded|tracked)\s+in\s+(?:the\s+)?(?P<file>tracking\s+file|\S+)$",
    _I,
)


class RegisteredPhrasing:
    """ "Output registered in FILE" (the plan's tracking file when FILE is a placeholder)."""

    name = "registration"

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult:
        match = _REGISTERED_RE.match(clean(text))
        if not match:
            return None
        named = unwrap(match.group("file"))
        if named.startswith("<") or named.lower() == "tracking file":
            path = scope.plan.tracking_file_path()
            note = f"{named} is not filled in: the plan's tracking file {path.name} is used"
            return Compiled((Registered(_source(scope), path, named),), note)
        return Compiled((Registered(_source(scope), scope.plan.resolve(named), named),))


def builtin_phrasings() -> list[Phrasing]:
    """In the order they are tried."""
    return [
        LintPhrasing(),
        RegisteredPhrasing(),
        TableSpacingPhrasing(),
        FrontMatterKeys(),
        FrontMatterPresent(),
        AllowedValuesPhrasing(),
        MinItemsPhrasing(),
        SectionsPhrasing(),
    ]
