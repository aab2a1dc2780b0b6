"""Layout and process phrasings: sections, table spacing, the linter line, registration."""

from __future__ import annotations

import re
import shlex

from orchestrator.validators.document import heading_key
from orchestrator.validators.expectations import (
    Expectation,
    LintCommand,
    Registered,
    RequiredSections,
    TableBlankAfter,
    TableBlankBefore,
)
from orchestrator.validators.phrase_common import IGNORE_CASE, MODAL, SUBJECT, source_of
from orchestrator.validators.registry import Compiled, NotCheckable, PhrasingResult, RuleScope
from orchestrator.validators.textutil import clean, split_list, unwrap

# --- sections ----------------------------------------------------------------------

_SECTION_WORD = r"(?:##\s*|h2\s+|level[\s-]?2\s+|top[\s-]level\s+)?(?:sections?|headings?|headers?)"
_SEC_VERB = r"(?:include|includes|has|have|contain|contains|needs?|requires?|uses?|with)"
_SEC_LEAD = rf"^{SUBJECT}{MODAL}(?:{_SEC_VERB}\s+)?(?:the\s+)?(?:following\s+)?"
_SEC_ORDER = (
    r"(?P<order>\s*,?\s*[(\u2014-]?\s*(?:(?:and\s+|all\s+)?(?:appear(?:ing)?\s+)?in\s+(?:that|this|the\s+same|"
    r"the\s+given|the\s+listed|exactly\s+that|exactly\s+this)\s+order|in\s+order|ordered|in\s+sequence)\s*\)?)?$"
)
_SEC_TAIL = r"(?:\s*,?\s*(?:are\s+|all\s+)?(?:present|required|included))?" + _SEC_ORDER
_SECTIONS_RES = (
    re.compile(
        rf"^(?:the\s+)?(?:sections?|headings?)\s+{MODAL}(?:appear\s+|be\s+|come\s+)?in\s+(?:this|the\s+following)"
        rf"\s+order\s*:\s*(?P<list>.+)$",
        IGNORE_CASE,
    ),
    re.compile(
        r"^(?:the\s+)?(?:required\s+)?" + _SECTION_WORD + r"\s*(?:\(\s*in\s+(?:this\s+|that\s+)?order\s*\)"
        r"|,?\s*in\s+(?:this\s+|that\s+)?order)\s*:\s*(?P<list>.+)$",
        IGNORE_CASE,
    ),
    re.compile(_SEC_LEAD + _SECTION_WORD + r"\s*:?\s*(?P<list>.+?)" + _SEC_TAIL, IGNORE_CASE),
    re.compile(_SEC_LEAD + r"(?P<list>.+?)\s+" + _SECTION_WORD + _SEC_TAIL, IGNORE_CASE),
)

_ALWAYS_ORDERED = (0, 1)
_ARROW_RE = re.compile(r"\s*(?:\u2192|->|=>|>)\s*")
_NOT_A_NAME_RE = re.compile(r"[():<>{}\[\]\u2192]")


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
                ordered = index in _ALWAYS_ORDERED or bool(match.groupdict().get("order"))
                return self._sections(match.group("list"), ordered, scope)
        return None

    def _sections(self, listed: str, ordered: bool, scope: RuleScope) -> PhrasingResult:
        known = scope.reference.headings
        if _ARROW_RE.search(listed):  # "A → B → C" can only mean an order
            listed, ordered = _ARROW_RE.sub(", ", listed), True
        names = [scope.reference.heading_spelling(n.lstrip("#").strip()) for n in split_list(listed, known)]
        known_keys = {heading_key(h) for h in known}
        odd = next((n for n in names if heading_key(n) not in known_keys and _NOT_A_NAME_RE.search(n)), None)
        if odd is not None:
            return NotCheckable(
                f"'{odd}' does not look like a section name, and the format reference has no such heading"
            )
        if len(names) < 2 and not any(heading_key(n) in known_keys for n in names):
            return NotCheckable(f"'{listed}' does not name sections of the format reference")
        if len({heading_key(n) for n in names}) != len(names):
            return NotCheckable(f"names a section twice: {', '.join(names)}")
        return Compiled((RequiredSections(source_of(scope), tuple(names), ordered=ordered),))


# --- tables -------------------------------------------------------------------------

_TABLE_RE = re.compile(r"\btables?\b", IGNORE_CASE)
_BLANK_RE = re.compile(r"\b(?:blank|empty)\s+lines?\b|\bnewlines?\b", IGNORE_CASE)
_NEGATION_RE = re.compile(r"\b(?:no|not|never|without|don'?t)\b", IGNORE_CASE)
_BEFORE_RE = re.compile(r"\b(?:before|preced\w*|above|ahead\s+of)\b", IGNORE_CASE)
_AFTER_RE = re.compile(r"\b(?:after|follow\w*|below)\b", IGNORE_CASE)
_AROUND_RE = re.compile(r"\b(?:around|surround\w*|both\s+sides|either\s+side)\b", IGNORE_CASE)


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
            found.append(TableBlankBefore(source_of(scope)))
        if after:
            found.append(TableBlankAfter(source_of(scope)))
        return Compiled(tuple(found))


# --- linter --------------------------------------------------------------------------

_LINT_RES = (
    re.compile(
        r"^(?:the\s+)?(?:(?:project'?s?|markdown)\s+)?(?:linter|lint|markdownlint|linting)\s+"
        r"(?:passes|is\s+clean|succeeds|is\s+ok|reports\s+nothing|clean)\s*(?:(?::|with|using|via|\u2014|-)\s*(?P<cmd>.*))?$",
        IGNORE_CASE,
    ),
    re.compile(
        r"^(?:running\s+|run\s+)?`(?P<cmd>[^`]+)`\s+(?:passes|succeeds|exits\s+(?:with\s+)?0|is\s+clean)$",
        IGNORE_CASE,
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
        argv = tuple(shlex.split(re.sub(re.escape(placeholder), placeholder, command, flags=IGNORE_CASE)))
    except ValueError as exc:
        return NotCheckable(f"the command cannot be split into arguments: {exc}")
    return Compiled((LintCommand(source_of(scope), command, argv, placeholder),))


# --- registration --------------------------------------------------------------------

_REGISTERED_RE = re.compile(
    r"^(?:(?:each|every|the|an?)\s+)?(?:(?:output|file|entry|result)s?\s+)?(?:is\s+|are\s+|must\s+be\s+|gets\s+)?"
    r"(?:registered|listed|recorded|tracked)\s+in\s+(?:the\s+)?(?P<file>tracking\s+file|\S+)$",
    IGNORE_CASE,
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
            return Compiled((Registered(source_of(scope), path, named),), note)
        return Compiled((Registered(source_of(scope), scope.plan.resolve(named), named),))
