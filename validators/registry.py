"""The validator registry: named checks and rule phrasings, loaded from entry points.

Every validator, the built-in ones included, joins through the entry point
group ``orchestrator.validators``: each entry point names a
``register(registry)`` function that adds validators (named checks) and
phrasings (rule-text compilers). A third-party package therefore extends the
tool exactly the way the tool extends itself::

    [project.entry-points."orchestrator.validators"]
    wordcount = "my_package.checks:register"

The registry is loaded once per process (:func:`load_registry` is cached).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from orchestrator.validators.expectations import Expectation, Expectations, RequiredKeys

from orchestrator.errors import ConfigError

if TYPE_CHECKING:
    from orchestrator.validators.document import Document
    from orchestrator.validators.reference import ReferenceFacts
    from orchestrator.validators.results import CheckResult

    from orchestrator.plan.model import Plan

GROUP = "orchestrator.validators"
DEFAULT_LINT_TIMEOUT = 60.0


@dataclass(frozen=True)
class CheckContext:
    """What a check may know besides the document."""

    path: Path  # where the file is, or will be written
    expectations: Expectations
    final: bool  # True: the file is on disk and every check runs
    trust_plan: bool  # False: never run a command the plan names
    base_dir: Path  # the plan's folder: the linter's working directory
    lint_timeout: float = DEFAULT_LINT_TIMEOUT


@runtime_checkable
class Validator(Protocol):
    """One named check. ``consumes`` ties it to the expectations it checks."""

    @property
    def name(self) -> str: ...

    @property
    def consumes(self) -> tuple[type[Expectation], ...]: ...

    def applies(self, expectations: Expectations) -> bool: ...

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]: ...


class BaseValidator:
    """Convenience base: applies when any expectation it consumes is present."""

    name: str = ""
    consumes: tuple[type[Expectation], ...] = ()

    def applies(self, expectations: Expectations) -> bool:
        return expectations.has(*self.consumes)

    def covers(self, expectation: Expectation) -> bool:
        """Whether this check enforces ``expectation`` (for ``explain``).

        Override when it depends on the expectation's fields, not just its type.
        """
        return isinstance(expectation, self.consumes)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        raise NotImplementedError


@dataclass(frozen=True)
class RuleScope:
    """What a phrasing may consult while compiling one rule line."""

    section: str  # expectations.CONTENT_RULES or CHECKLIST
    line: int
    text: str  # the rule as written
    reference: ReferenceFacts
    so_far: Expectations  # compiled from earlier lines (Content Rules come first)
    plan: Plan

    def known_keys(self) -> list[str]:
        """Front matter keys of the reference, then keys earlier rules required."""
        keys = list(self.reference.keys)
        for found in self.so_far.of(RequiredKeys):
            keys.extend(k for k in found.keys if k not in keys)
        return keys


@dataclass(frozen=True)
class Compiled:
    """A phrasing understood the rule: these expectations check it."""

    expectations: tuple[Expectation, ...]
    note: str = ""


@dataclass(frozen=True)
class NotCheckable:
    """A phrasing recognised the rule but cannot check it without guessing."""

    reason: str


PhrasingResult = Compiled | NotCheckable | None


class Phrasing(Protocol):
    """Turns one rule line into expectations; ``None`` means "not my phrasing"."""

    @property
    def name(self) -> str: ...

    def compile(self, text: str, scope: RuleScope) -> PhrasingResult: ...


@dataclass
class Registry:
    """Validators by check name, and phrasings in the order they are tried."""

    _validators: dict[str, Validator] = field(default_factory=dict)
    _phrasings: list[Phrasing] = field(default_factory=list)

    def add_validator(self, validator: Validator) -> None:
        if not validator.name:
            raise ConfigError(f"validator {validator!r} has no name")
        if validator.name in self._validators:
            raise ConfigError(
                f"two validators are named '{validator.name}'",
                hint="each check name must be unique across installed packages",
            )
        self._validators[validator.name] = validator

    def add_phrasing(self, phrasing: Phrasing) -> None:
        self._phrasings.append(phrasing)

    @property
    def validators(self) -> tuple[Validator, ...]:
        return tuple(self._validators.values())

    @property
    def phrasings(self) -> tuple[Phrasing, ...]:
        return tuple(self._phrasings)

    def names(self) -> list[str]:
        return list(self._validators)

    def checks_for(self, expectation: Expectation) -> list[str]:
        """Names of the checks enforcing ``expectation`` (``covers``, else ``consumes``)."""
        return [v.name for v in self._validators.values() if _covers(v, expectation)]


def _covers(validator: Validator, expectation: Expectation) -> bool:
    covers = getattr(validator, "covers", None)
    if callable(covers):
        return bool(covers(expectation))
    return isinstance(expectation, validator.consumes)


Register = Callable[[Registry], None]


def _entry_order(point: EntryPoint) -> tuple[int, str]:
    """Built-ins first, then the rest by name, so runs are reproducible."""
    return (0 if point.name == "builtin" else 1, point.name)


def build_registry(points: Iterable[EntryPoint]) -> Registry:
    """A registry from entry points, each naming a ``register(registry)`` function."""
    registry = Registry()
    for point in sorted(points, key=_entry_order):
        try:
            register = point.load()
        except (ImportError, AttributeError) as exc:
            raise ConfigError(
                f"validator plugin '{point.name}' ({point.value}) cannot be loaded: {exc}",
                hint="reinstall or uninstall the package that provides it",
            ) from None
        if not callable(register):
            raise ConfigError(f"validator plugin '{point.name}' ({point.value}) is not a register(registry) function")
        register(registry)
    if not registry.validators:
        raise ConfigError(
            f"no validators are registered under the entry point group '{GROUP}'",
            hint="install the package (pip install -e .) so its entry points exist",
        )
    return registry


@cache
def load_registry() -> Registry:
    """Every installed validator, built-ins included, loaded once per process."""
    return build_registry(entry_points(group=GROUP))
