"""Validators: check every output against the format reference and the plan's own rules.

Public API::

    compiled = compile_plan(plan, trust_plan=False)
    report = compiled.validate_text(content, path=out_path)      # before the write
    report = compiled.validate_file(out_path)                    # after it
    compiled.explain(); compiled.unchecked
    extract_document(raw_reply).content

Checks and rule phrasings are registered through the entry point group
``orchestrator.validators`` (see :mod:`.registry` and docs/validation.md).
"""

from __future__ import annotations

from orchestrator.validators.compiled import CompiledPlan, compile_plan
from orchestrator.validators.registry import (
    BaseValidator,
    CheckContext,
    Compiled,
    NotCheckable,
    Registry,
    RuleScope,
    Validator,
    load_registry,
)
from orchestrator.validators.response import Extracted, extract_document
from orchestrator.validators.results import CheckResult, FileReport
from orchestrator.validators.rules import RuleReport

__all__ = [
    "BaseValidator",
    "CheckContext",
    "CheckResult",
    "Compiled",
    "CompiledPlan",
    "Extracted",
    "FileReport",
    "NotCheckable",
    "Registry",
    "RuleReport",
    "RuleScope",
    "Validator",
    "compile_plan",
    "extract_document",
    "load_registry",
]
