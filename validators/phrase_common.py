"""Shared pieces of the rule phrasings: regex fragments and the rule's source."""

from __future__ import annotations

import re

from orchestrator.validators.expectations import Source
from orchestrator.validators.registry import RuleScope

IGNORE_CASE = re.IGNORECASE
Q = r"[`'\"]?"  # an optional quote or backtick around a key
FM = r"(?:yaml\s+)?front[\s-]?matter"
SUBJECT = r"(?:(?:every|each|all|the|an?)\s+(?:output|file|document|entry|card|page|result)s?\s+)?"
MODAL = r"(?:(?:must|should|shall|will)\s+)?"
HAVE = r"(?:needs?|has|have|requires?|includes?|including|contains?|containing|lists?|with|uses?)"
AT_LEAST = r"(?:at\s+least|a\s+minimum\s+of|minimum\s+of|minimum|no\s+fewer\s+than)"


def source_of(scope: RuleScope) -> Source:
    """The plan line a phrasing is compiling, as the source of its expectations."""
    return Source(scope.section, scope.line, scope.text)
