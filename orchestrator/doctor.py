"""``orchestrate doctor``: is this machine ready to run PLAN for real? Spends nothing.

The checks, in order, each a :class:`Finding`:

1. ``plan``: everything ``orchestrate check`` reports.
2. ``provider``: which provider a run would use, and why (``--provider``, or
   the environment: a key selects the Anthropic API).
3. ``key``: the key that provider needs is set (the value is never shown).
4. ``api``: the API answers one free request (count_tokens) at its base URL,
   tried twice; refused, DNS and TLS failures name the URL and the variable.
5. ``lint``: every lint command of the plan resolves to an executable
   (``shutil.which``; nothing is run).

Then the rules that a run would not machine-check, or would skip, each with
the flag or package that enables it. Everything here is pure except
:func:`probe_api` (one request) and reading PATH; :func:`run_doctor` puts the
pieces together.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from orchestrator.errors import (
    AuthenticationFailed,
    ConnectionFailed,
    OrchestratorError,
    ProviderError,
)
from orchestrator.providers.base import CallRequest, Provider, Turn
from orchestrator.providers.registry import KEY_VARIABLES

if TYPE_CHECKING:
    from orchestrator.plan.model import Plan
    from orchestrator.validators import CompiledPlan

Status = Literal["ok", "fail", "warn", "skip"]
#: providers that read the Anthropic key variables
_ANTHROPIC_KEYED = ("anthropic", "anthropic-batch")
TRUST_HINT = "pass --trust-plan (or set ORCHESTRATE_TRUST_PLAN=1) to run the plan's linter"
PROBE_ATTEMPTS = 2
PROBE_PAUSE_S = 0.5


@dataclass(frozen=True)
class Finding:
    """One check's result: ``fail`` stops a run; ``warn`` and ``skip`` do not."""

    name: str  # plan, provider, key, api, lint
    status: Status
    message: str
    hint: str = ""
    details: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "status": self.status,
            "message": self.message,
            "hint": self.hint or None,
            "details": list(self.details),
        }


@dataclass(frozen=True)
class SkippedRule:
    """A rule a run would not check, where it is, and what would enable it."""

    where: str  # plan.md:23, or the rule's section and line
    text: str
    reason: str
    enable: str  # the flag, package or rewording that makes it checked

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "text": self.text, "reason": self.reason, "enable": self.enable}


@dataclass
class DoctorReport:
    plan: Path
    findings: list[Finding] = field(default_factory=list)
    skipped_rules: list[SkippedRule] = field(default_factory=list)
    provider: str | None = None
    base_url: str | None = None

    @property
    def ok(self) -> bool:
        return all(f.status != "fail" for f in self.findings)

    def as_dict(self) -> dict[str, object]:
        return {
            "plan": str(self.plan),
            "ok": self.ok,
            "provider": self.provider,
            "base_url": self.base_url,
            "checks": [f.as_dict() for f in self.findings],
            "skipped_rules": [r.as_dict() for r in self.skipped_rules],
        }


# --- the plan --------------------------------------------------------------------


def plan_finding(path: Path) -> tuple[Plan | None, Finding]:
    """The plan as ``check`` sees it; the plan is returned only when it has no problem."""
    from orchestrator.models import load_model_table
    from orchestrator.plan.check import check_plan
    from orchestrator.plan.parser import read_plan

    try:
        plan = read_plan(path)
        problems = check_plan(plan, load_model_table(plan.base_dir))
    except OrchestratorError as exc:
        return None, Finding("plan", "fail", exc.render(), f"fix it, then `orchestrate check {path}`")
    if problems:
        details = tuple(p.render() for p in problems)
        return None, Finding("plan", "fail", f"{len(problems)} problem(s) in {path}", "", details)
    rows = sum(len(phase.rows) for phase in plan.phases)
    return plan, Finding("plan", "ok", f"{path}: no problems ({len(plan.phases)} phase(s), {rows} row(s))")


# --- the provider and its key ---------------------------------------------------------


def provider_finding(flag: str | None, env: Mapping[str, str]) -> tuple[str | None, Finding]:
    """The provider a run would use and why; ``None`` when none can be chosen."""
    from orchestrator.providers.registry import resolve_provider_name

    try:
        name = resolve_provider_name(flag, env=env)
    except OrchestratorError as exc:
        return None, Finding("provider", "fail", exc.message, exc.hint or "")
    if flag is not None:
        why = f"chosen with --provider {flag}"
    else:
        found = next(var for var in KEY_VARIABLES if env.get(var))
        why = f"no --provider given and {found} is set"
    simulated = " (the local simulator: nothing real is generated or billed)" if name == "sim" else ""
    return name, Finding("provider", "ok", f"{name}: {why}{simulated}")


def key_finding(provider: str, env: Mapping[str, str]) -> Finding:
    """Whether the key the provider reads is set (never its value)."""
    if provider == "sim":
        return Finding("key", "ok", "the simulator needs no key")
    if provider not in _ANTHROPIC_KEYED:
        return Finding("key", "skip", f"doctor does not know which key {provider!r} needs")
    found = [var for var in KEY_VARIABLES if env.get(var)]
    if found:
        return Finding("key", "ok", f"{found[0]} is set")
    return Finding(
        "key",
        "fail",
        f"no Anthropic API key: neither {' nor '.join(KEY_VARIABLES)} is set",
        "export ANTHROPIC_API_KEY=..., or rehearse offline with --provider sim",
    )


# --- the API ----------------------------------------------------------------------------


def probe_request(model_id: str) -> CallRequest:
    """The smallest request count_tokens accepts: it is free and generates nothing."""
    return CallRequest(model_id, "", "", (Turn("user", "ping"),), 1)


async def probe_api(
    provider: Provider, request: CallRequest, *, attempts: int = PROBE_ATTEMPTS, pause_s: float = PROBE_PAUSE_S
) -> Finding:
    """One count_tokens request, tried ``attempts`` times when the failure may pass."""
    url = getattr(provider, "base_url", None)
    at = f" at {url}" if url else ""
    attempt = 1
    while True:
        try:
            counted = await provider.count_tokens(request)
        except AuthenticationFailed as exc:
            return Finding("api", "fail", f"the API{at} refused the key: {exc.message}", exc.hint or "")
        except ProviderError as exc:
            if exc.retryable and attempt < attempts:
                attempt += 1
                await asyncio.sleep(pause_s)
                continue
            hint = exc.hint or ("the API answered but refused the request; check the model names in the plan"
                                if not exc.retryable else "try again later; check your network")
            kind = "unreachable" if isinstance(exc, ConnectionFailed) else "not usable"
            return Finding("api", "fail", f"the API is {kind}: {exc.message}", hint)
        if counted is None:
            return Finding("api", "skip", f"{provider.name} cannot count tokens, so doctor cannot test it for free")
        return Finding("api", "ok", f"reachable{at} (count_tokens answered {counted} token(s) for {request.model})")


def api_finding(provider_name: str, model_id: str, env: Mapping[str, str]) -> tuple[str | None, Finding]:
    """Build the provider and probe it; its base URL for the report."""
    from orchestrator.providers.registry import create_provider

    try:
        provider = create_provider(provider_name, env=env)
    except OrchestratorError as exc:
        return None, Finding("api", "fail", exc.message, exc.hint or "")

    async def probe() -> tuple[str | None, Finding]:
        try:
            finding = await probe_api(provider, probe_request(model_id))
            return getattr(provider, "base_url", None), finding
        finally:
            await provider.aclose()

    return asyncio.run(probe())


def probe_model(plan: Plan | None) -> str:
    """The model id of the plan's first row (what a run would ask for), else the table's haiku."""
    from orchestrator.models import load_model_table

    table = load_model_table(plan.base_dir if plan else None)
    names = [row.model for phase in (plan.phases if plan else []) for row in phase.rows if row.model]
    for name in [*names, "haiku"]:
        info = table.get(name)
        if info is not None:
            return info.id
    return next(iter(table.models.values())).id


# --- linters and skipped rules ----------------------------------------------------------


def lint_finding(compiled: CompiledPlan, *, trusted: bool) -> Finding | None:
    """Every lint command resolves to an executable; ``None`` when the plan names none."""
    from orchestrator.validators.expectations import LintCommand
    from orchestrator.validators.lint import lint_preflight

    commands = sorted({rule.command for rule in compiled.expectations.of(LintCommand)})
    if not commands:
        return None
    problems = lint_preflight(compiled.expectations, compiled.plan.base_dir)
    if not problems:
        state: Status = "ok" if trusted else "skip"
        note = "" if trusted else f" (a run skips it: {TRUST_HINT})"
        return Finding("lint", state, f"found: {', '.join(commands)}{note}")
    details = tuple(p.render() for p in problems)
    hint = "; ".join(dict.fromkeys(p.hint for p in problems))
    if trusted:
        return Finding("lint", "fail", f"{len(problems)} lint command(s) cannot run", hint, details)
    return Finding("lint", "warn", f"{len(problems)} lint command(s) cannot run (skipped: the plan is not trusted)",
                   hint, details)


def skipped_rules(compiled: CompiledPlan, *, trusted: bool) -> list[SkippedRule]:
    """Rules a run would not machine-check, or would skip, with what enables each."""
    from orchestrator.validators.expectations import LintCommand
    from orchestrator.validators.lint import install_hint

    name = compiled.plan.path.name
    found = [
        SkippedRule(f"{name}:{report.line}", report.text, report.reason or "not machine-checked",
                    "reword it as a phrasing listed in docs/validation.md (`orchestrate explain` shows why)")
        for report in compiled.unchecked
    ]
    if not trusted:
        for rule in {r.command: r for r in compiled.expectations.of(LintCommand)}.values():
            where = f"{name}:{rule.source.line}" if rule.source.line else rule.source.describe()
            enable = f"{TRUST_HINT}; {install_hint(rule.argv[0]) if rule.argv else ''}".rstrip("; ")
            found.append(SkippedRule(where, rule.command, "the plan's linter runs only for a trusted plan", enable))
    return found


# --- all of it -----------------------------------------------------------------------------


def run_doctor(
    path: Path, *, provider: str | None = None, trust_plan: bool = False, env: Mapping[str, str] | None = None
) -> DoctorReport:
    """Every check, in order. A check that cannot be made (no key, no provider) is skipped, saying why."""
    from orchestrator.validators import compile_plan
    from orchestrator.validators.lint import trusted_by_env

    env = os.environ if env is None else env
    report = DoctorReport(path)
    plan, finding = plan_finding(path)
    report.findings.append(finding)
    name, finding = provider_finding(provider, env)
    report.provider = name
    report.findings.append(finding)
    if name is not None:
        key = key_finding(name, env)
        report.findings.append(key)
        if key.status == "fail":
            report.findings.append(Finding("api", "skip", "not tried: no key to send"))
        else:
            report.base_url, finding = api_finding(name, probe_model(plan), env)
            report.findings.append(finding)
    if plan is not None:
        trusted = trust_plan or trusted_by_env()
        compiled = compile_plan(plan, trust_plan=trusted)
        lint = lint_finding(compiled, trusted=compiled.trust_plan)
        if lint is not None:
            report.findings.append(lint)
        report.skipped_rules = skipped_rules(compiled, trusted=compiled.trust_plan)
    return report


def render_text(report: DoctorReport) -> str:
    """The report as a person reads it: one line per check, then the skipped rules."""
    marks = {"ok": "ok  ", "fail": "FAIL", "warn": "warn", "skip": "skip"}
    lines = [f"doctor: {report.plan}"]
    for finding in report.findings:
        lines.append(f"  {marks[finding.status]}  {finding.name}: {finding.message}")
        lines += [f"          {line}" for detail in finding.details for line in detail.splitlines()]
        if finding.hint:
            first, *rest = finding.hint.splitlines()
            lines += [f"          hint: {first}", *(f"          {line.strip()}" for line in rest)]
    if report.skipped_rules:
        lines += ["", f"Not checked by a run ({len(report.skipped_rules)}):"]
        for rule in report.skipped_rules:
            lines += [f"  - {rule.where}: {rule.text}", f"      why: {rule.reason}", f"      enable: {rule.enable}"]
    verdict = "ready: nothing above stops a run" if report.ok else "NOT READY: fix each FAIL above"
    lines += ["", f"{verdict} (doctor spent nothing)"]
    return "\n".join(lines)
