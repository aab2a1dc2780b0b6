"""Front matter checks: present and parseable, required keys, value shapes, allowed values, counts.

Values are the strings the file wrote (see :mod:`.fmparse`), so ``3``,
``2024-01-01`` or ``yes`` are compared as written. When the block itself is
unusable only ``frontmatter.present`` fails; the others report themselves as
skipped rather than piling up consequences of the same mistake.
"""

from __future__ import annotations

import difflib

from orchestrator.validators.document import Document
from orchestrator.validators.expectations import (
    AllowedValues,
    FrontMatterRequired,
    KeyKinds,
    MinItems,
    RequiredKeys,
)
from orchestrator.validators.fmparse import FMEntry, YamlValue
from orchestrator.validators.registry import BaseValidator, CheckContext
from orchestrator.validators.results import CheckResult, failed, passed, skipped

_UNUSABLE = "the front matter is unusable (see frontmatter.present)"


def _shape(value: YamlValue) -> str:
    if isinstance(value, list):
        return f"a list [{', '.join(_item(v) for v in value)}]"
    if isinstance(value, dict):
        return "a mapping"
    return f"a single value '{value}'" if value != "" else "no value"


def _item(value: YamlValue) -> str:
    """One list item as written; quoted when it holds a comma, so ``['a, b']`` is not read as two."""
    if not isinstance(value, str):
        return "a nested list" if isinstance(value, list) else "a mapping"
    return f"'{value}'" if "," in value or not value.strip() else value


class FrontMatterPresent(BaseValidator):
    """The file starts with a ``---`` block holding a YAML mapping."""

    name = "frontmatter.present"
    consumes = (FrontMatterRequired, RequiredKeys, KeyKinds, AllowedValues, MinItems)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        front = doc.front_matter
        if not front.ok:
            return [failed(self.name, front.message, front.line)]
        return [passed(self.name, f"front matter present ({len(front.entries)} keys)", 1)]


class FrontMatterUniqueKeys(BaseValidator):
    """No key is written twice (YAML would silently keep only the last one)."""

    name = "frontmatter.unique_keys"
    consumes = (FrontMatterRequired,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        front = doc.front_matter
        if not front.ok:
            return [skipped(self.name, _UNUSABLE)]
        results = [
            failed(
                self.name,
                f"front matter key '{dup.key}' is written twice (lines "
                f"{front.entries[dup.key].line} and {dup.line}); keep one",
                dup.line,
            )
            for dup in front.duplicates
        ]
        return results or [passed(self.name, "no key is repeated")]


class FrontMatterRequiredKeys(BaseValidator):
    """Every key the reference or a rule requires is present and has a value."""

    name = "frontmatter.required_keys"
    consumes = (RequiredKeys,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        front = doc.front_matter
        if not front.ok:
            return [skipped(self.name, _UNUSABLE)]
        rules = ctx.expectations.of(RequiredKeys)
        required: list[str] = []
        for expectation in rules:
            required.extend(k for k in expectation.keys if k not in required)
        # a key may stay empty only if every rule requiring it allows that (the reference did)
        empty_ok = {k for k in required if all(k in r.may_be_empty for r in rules if k in r.keys)}
        results = [r for key in required if (r := self._one(key, front.entries, required, doc, key in empty_ok))]
        return results or [passed(self.name, f"front matter has {', '.join(required)}")]

    def _one(
        self,
        key: str,
        entries: dict[str, FMEntry],
        required: list[str],
        doc: Document,
        empty_ok: bool,
    ) -> CheckResult | None:
        entry = entries.get(key)
        closing = doc.body_start - 1
        if entry is None:
            other = next((e for k, e in entries.items() if k.casefold() == key.casefold()), None)
            found = f"; found '{other.key}' on line {other.line}, but keys are case-sensitive" if other else ""
            return failed(
                self.name,
                f"front matter is missing the required key '{key}' (required: {', '.join(required)}){found}",
                other.line if other else closing,
            )
        if entry.value in ("", [], {}) and not empty_ok:
            return failed(self.name, f"front matter key '{key}' on line {entry.line} has no value", entry.line)
        return None


class FrontMatterValueTypes(BaseValidator):
    """Each key's value has the reference's shape: a list where it has a list, and so on."""

    name = "frontmatter.value_types"
    consumes = (KeyKinds,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        front = doc.front_matter
        if not front.ok:
            return [skipped(self.name, _UNUSABLE)]
        results: list[CheckResult] = []
        for expectation in ctx.expectations.of(KeyKinds):
            for key, kind in expectation.kinds:
                entry = front.entries.get(key)
                if entry is not None and entry.value != "" and entry.kind != kind:
                    results.append(
                        failed(
                            self.name,
                            f"'{key}' must be a {kind}, as in the format reference, "
                            f"but line {entry.line} gives {_shape(entry.value)}",
                            entry.line,
                        )
                    )
        return results or [passed(self.name, "every value has the reference's shape")]


class FrontMatterAllowedValues(BaseValidator):
    """Enumerated keys hold one of their allowed values, exactly (case included)."""

    name = "frontmatter.allowed_values"
    consumes = (AllowedValues,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        front = doc.front_matter
        if not front.ok:
            return [skipped(self.name, _UNUSABLE)]
        seen: set[tuple[str, tuple[str, ...]]] = set()
        results: list[CheckResult] = []
        for rule in ctx.expectations.of(AllowedValues):
            if (rule.key, rule.values) in seen:
                continue
            seen.add((rule.key, rule.values))
            results.extend(self._one(rule, front.entries.get(rule.key)))
        return results

    def _one(self, rule: AllowedValues, entry: FMEntry | None) -> list[CheckResult]:
        allowed = ", ".join(rule.values)
        if entry is None:
            return [passed(self.name, f"'{rule.key}' is absent: nothing to compare")]
        if isinstance(entry.value, dict):
            return [failed(self.name, f"{rule.key}: must be one of {allowed}, found a mapping", entry.line)]
        values = [(i.value, i.line) for i in entry.items] if entry.items else [(entry.value, entry.line)]
        results = [failed(self.name, _not_allowed(rule, str(v)), line) for v, line in values if v not in rule.values]
        return results or [passed(self.name, f"{rule.key}: {entry.value} is allowed", entry.line)]


def _not_allowed(rule: AllowedValues, value: str) -> str:
    message = f"{rule.key}: '{value}' is not one of {', '.join(rule.values)}"
    same_case = [v for v in rule.values if v.casefold() == value.strip().casefold()]
    if same_case:
        return f"{message} (values are case-sensitive: write '{same_case[0]}')"
    close = difflib.get_close_matches(value, rule.values, n=1, cutoff=0.6)
    return f"{message} (did you mean '{close[0]}'?)" if close else message


class FrontMatterMinItems(BaseValidator):
    """List keys hold at least the number of items a rule asks for."""

    name = "frontmatter.min_items"
    consumes = (MinItems,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        front = doc.front_matter
        if not front.ok:
            return [skipped(self.name, _UNUSABLE)]
        wanted: dict[str, int] = {}
        for rule in ctx.expectations.of(MinItems):
            wanted[rule.key] = max(wanted.get(rule.key, 0), rule.count)
        return [self._one(key, count, front.entries.get(key), doc) for key, count in wanted.items()]

    def _one(self, key: str, count: int, entry: FMEntry | None, doc: Document) -> CheckResult:
        if entry is None:
            return failed(
                self.name,
                f"'{key}' must list at least {count} item(s), but the key is missing",
                doc.body_start - 1,
            )
        if not isinstance(entry.value, list):
            return failed(
                self.name,
                f"'{key}' must be a list of at least {count} item(s), "
                f"but line {entry.line} gives {_shape(entry.value)}",
                entry.line,
            )
        present = [v for v in entry.value if not (isinstance(v, str) and not v.strip())]
        if len(present) < count:
            return failed(
                self.name,
                f"'{key}' lists {len(present)} item(s), at least {count} required: {_shape(entry.value)}",
                entry.line,
            )
        return passed(self.name, f"'{key}' lists {len(present)} item(s) (at least {count})", entry.line)
