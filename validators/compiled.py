"""A plan compiled once into expectations, ready to validate any number of outputs.

:func:`compile_plan` reads the format reference once, derives what it
implies, compiles every Content Rule and checklist line, and returns a
:class:`CompiledPlan` whose ``validate_text`` (before a write, for the
dispatcher's repair loop) and ``validate_file`` (after) run every registered
check that applies.
"""

from __future__ import annotations

from pathlib import Path

from orchestrator.validators.document import parse_document
from orchestrator.validators.expectations import REFERENCE, Expectation, Expectations
from orchestrator.validators.lint import trusted_by_env
from orchestrator.validators.reference import ReferenceFacts, derive, read_reference
from orchestrator.validators.registry import (
    DEFAULT_LINT_TIMEOUT,
    CheckContext,
    Registry,
    load_registry,
)
from orchestrator.validators.results import CheckResult, FileReport, failed
from orchestrator.validators.rules import RuleReport, compile_rules

from orchestrator.errors import InputFileError
from orchestrator.plan.model import Plan, TextLine
from orchestrator.safeio import OUTPUT, read_bytes


class CompiledPlan:
    """Expectations of one plan and the checks that enforce them."""

    def __init__(
        self,
        plan: Plan,
        reference: ReferenceFacts,
        registry: Registry,
        *,
        trust_plan: bool,
        lint_timeout: float = DEFAULT_LINT_TIMEOUT,
    ) -> None:
        self.plan = plan
        self.reference = reference
        self.registry = registry
        self.trust_plan = trust_plan
        self.lint_timeout = lint_timeout
        self.expectations = Expectations(derive(reference))
        self.derived = [self._derived_report(e) for e in self.expectations]
        self.rules = compile_rules(plan, reference, registry, self.expectations)

    def _derived_report(self, expectation: Expectation) -> RuleReport:
        item = TextLine(expectation.describe(), expectation.source.line or 1)
        names = tuple(self.registry.checks_for(expectation))
        return RuleReport(REFERENCE, item, names, None, (expectation,))

    # --- what the plan became --------------------------------------------------

    def explain(self) -> list[RuleReport]:
        """Each Content Rule and checklist line, in plan order, and what it became."""
        return list(self.rules)

    @property
    def unchecked(self) -> list[RuleReport]:
        """Rule and checklist lines that are not machine-checked, with the reason."""
        return [report for report in self.rules if not report.checked]

    def unchecked_lines(self) -> list[tuple[TextLine, str]]:
        return [(report.item, report.reason or "") for report in self.unchecked]

    def check_names(self) -> list[str]:
        """Every check that will run on an output of this plan."""
        return [v.name for v in self.registry.validators if v.applies(self.expectations)]

    # --- validating outputs -----------------------------------------------------

    def validate_text(self, content: str, *, path: Path, final: bool = False) -> FileReport:
        """Check ``content`` meant for ``path``.

        ``final=False`` (before the write) skips ``tracking.registered`` and
        lints a temporary copy beside ``path``; ``final=True`` runs every check
        on the file as written.
        """
        doc = parse_document(content)
        ctx = CheckContext(path, self.expectations, final, self.trust_plan, self.plan.base_dir, self.lint_timeout)
        report = FileReport(path, document=doc)
        for validator in self.registry.validators:
            if validator.applies(self.expectations):
                report.checks.extend(validator.check(doc, ctx))
        return report

    def validate_file(self, path: Path) -> FileReport:
        """Every check on the file on disk; a missing or unreadable file is a failing report."""
        problem = _read_output(path)
        if isinstance(problem, CheckResult):
            return FileReport(path, [problem])
        return self.validate_text(problem, path=path, final=True)

    def check_reference(self) -> FileReport:
        """The format reference against the plan's own rules (a failing example: suspect plan)."""
        return self.validate_text(self.reference.doc.source, path=self.reference.path)


def _read_output(path: Path) -> str | CheckResult:
    """The file's text, or the failing ``file.exists`` / ``file.readable`` result.

    Read through :mod:`orchestrator.safeio`: a FIFO, a device or a file over
    the output limit fails ``file.readable`` instead of hanging the command.
    """
    try:
        data = read_bytes(path, OUTPUT)
    except FileNotFoundError:
        return failed("file.exists", f"output file {path} does not exist")
    except IsADirectoryError:
        return failed("file.readable", f"{path} is a folder, not a file")
    except InputFileError as exc:
        return failed("file.readable", f"{path}: {exc.message} ({exc.hint})")
    except OSError as exc:
        return failed("file.readable", f"cannot read {path}: {exc.strerror}")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        return failed(
            "file.readable",
            f"{path} is not valid UTF-8 (first bad byte on line {line}); write the file as UTF-8",
            line,
        )


def compile_plan(
    plan: Plan,
    *,
    trust_plan: bool = False,
    registry: Registry | None = None,
    lint_timeout: float = DEFAULT_LINT_TIMEOUT,
) -> CompiledPlan:
    """Compile ``plan``: read its format reference once and compile its rules.

    ``trust_plan`` (or ``ORCHESTRATE_TRUST_PLAN=1``) allows ``lint.command``
    to run the command the plan names. Raises :class:`~orchestrator.errors.PlanError`
    if the format reference is missing, unreadable or has unusable front matter.
    """
    reference = read_reference(plan)
    return CompiledPlan(
        plan,
        reference,
        registry or load_registry(),
        trust_plan=trust_plan or trusted_by_env(),
        lint_timeout=lint_timeout,
    )
