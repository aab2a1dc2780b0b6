"""The built-in rule phrasings, in the order they are tried.

A phrasing turns one plan line into expectations (:class:`Compiled`), says
why it cannot without guessing (:class:`NotCheckable`), or does not recognise
it (``None``). docs/validation.md lists the sentences understood.
"""

from __future__ import annotations

from orchestrator.validators.phrase_frontmatter import (
    AllowedValuesPhrasing,
    FrontMatterKeys,
    FrontMatterPresent,
    MinItemsPhrasing,
)
from orchestrator.validators.phrase_layout import (
    LintPhrasing,
    RegisteredPhrasing,
    SectionsPhrasing,
    TableSpacingPhrasing,
)
from orchestrator.validators.registry import Phrasing


def builtin_phrasings() -> list[Phrasing]:
    """Specific phrasings (linter, registration, tables) first, then the general ones."""
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
