"""The built-in validators and phrasings, registered through the entry point group.

``pyproject.toml`` declares ``builtin = "orchestrator.validators.builtin:register"``
under ``orchestrator.validators``: the same door third-party packages use.
The order here is the order checks run and appear in reports.
"""

from __future__ import annotations

from orchestrator.validators.frontmatter import (
    FrontMatterAllowedValues,
    FrontMatterMinItems,
    FrontMatterPresent,
    FrontMatterRequiredKeys,
    FrontMatterUniqueKeys,
    FrontMatterValueTypes,
)
from orchestrator.validators.lint import LintCommandCheck
from orchestrator.validators.phrasings import builtin_phrasings
from orchestrator.validators.registry import Registry, Validator
from orchestrator.validators.sections import SectionsOrder, SectionsPresent
from orchestrator.validators.shape import NotFenced
from orchestrator.validators.tables import TablesBlankLineAfter, TablesBlankLineBefore
from orchestrator.validators.tracking import TrackingRegistered


def builtin_validators() -> list[Validator]:
    return [
        NotFenced(),
        FrontMatterPresent(),
        FrontMatterUniqueKeys(),
        FrontMatterRequiredKeys(),
        FrontMatterValueTypes(),
        FrontMatterAllowedValues(),
        FrontMatterMinItems(),
        SectionsPresent(),
        SectionsOrder(),
        TablesBlankLineBefore(),
        TablesBlankLineAfter(),
        LintCommandCheck(),
        TrackingRegistered(),
    ]


def register(registry: Registry) -> None:
    """Entry point: add every built-in check and rule phrasing."""
    for validator in builtin_validators():
        registry.add_validator(validator)
    for phrasing in builtin_phrasings():
        registry.add_phrasing(phrasing)
