"""``add --classify``: estimate, confirm, then ask through the dispatcher (the part that spends).

The calls go through :func:`orchestrator.dispatch.engine.dispatch`, like a
run's: bounded concurrency, retries, the repair turn for an unusable
answer. Nothing is asked before the estimate is shown and confirmed
(``[y/N]``, or ``--yes``); without a terminal and without ``--yes`` it is
bad input and nothing is asked or written.
"""

from __future__ import annotations

import asyncio
import json
import math
from collections.abc import Callable, Sequence

import click

from orchestrator.authoring.addition import Classified, PlannedRow
from orchestrator.authoring.classify import OUTPUT_TOKENS, Question, allowed_models, questions, read_answer
from orchestrator.authoring.sources import RowSpec
from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import DispatchReport, DispatchSettings, Job, JobOutcome, Verdict
from orchestrator.errors import BadInputError, ConfirmationRequired, NotConfirmed
from orchestrator.models import ModelInfo, ModelTable, Usage
from orchestrator.plan.model import Plan
from orchestrator.plan.model_rules import compile_model_rules
from orchestrator.providers.base import CallResult, Provider, Turn


def classify_rows(
    plan: Plan, specs: list[RowSpec], planned: list[PlannedRow], table: ModelTable, model: str,
    provider: str | None, *, yes: bool, interactive: bool, ask: Callable[[str], bool],
) -> dict[int, Classified]:
    """Answers by spec index for the rows the compiled rules cannot decide.

    ``ask`` puts the ``[y/N]`` question (it may raise to decline); it is only
    called with ``interactive`` and without ``yes``.
    """
    info = table.get(model)
    if info is None:
        raise BadInputError(f"unknown model {model!r} for --classify",
                            hint=f"use one of: {', '.join(sorted(table.models))}")
    rules = compile_model_rules(plan.model_rules, table)
    allowed = allowed_models(rules, plan, table)
    asked = questions(plan, specs, rules, allowed, info.id) if len(allowed) > 1 else []
    if not asked:
        click.echo("--classify: the compiled rules decide every row (or name only one model); nothing to ask")
        return {}
    from orchestrator.providers.registry import create_provider, resolve_provider_name

    name = resolve_provider_name(provider)  # bad input before anything is spent
    click.echo(estimate_text(asked, info, table, name))
    if not yes:
        if not interactive:
            raise ConfirmationRequired("--classify spends money and was not confirmed: nothing was asked or written",
                                       hint="review the estimate above, then pass --yes")
        if not ask("Proceed with classifying?"):
            raise NotConfirmed("not confirmed: nothing was asked or written", hint="pass --yes to classify")
    report = asyncio.run(_dispatch(asked, info, create_provider(name), allowed, table))
    return _results(asked, report, allowed, table)


def estimate_text(asked: Sequence[Question], info: ModelInfo, table: ModelTable, provider: str) -> str:
    """Tokens and dollars, estimated locally (characters / 4), before anything is asked."""
    tokens_in = sum(math.ceil(len(q.request.system + q.request.shared + q.request.turns[0].text) / 4) + 3
                    for q in asked)
    usage = Usage(input_tokens=tokens_in, output_tokens=OUTPUT_TOKENS * len(asked))
    cost = info.cost(usage)
    return (f"--classify: {len(asked)} row(s) the compiled rules cannot decide; asking {info.alias} ({info.id}) "
            f"via {provider}\n  estimate: {tokens_in:,} input + {usage.output_tokens:,} output tokens, "
            f"${cost:.4f} (local estimate: characters / 4, no caching; prices as of {table.prices_as_of})")


class _Hooks:
    """Judge each answer; keep the outcomes."""

    def __init__(self, allowed: list[str], table: ModelTable) -> None:
        self.allowed, self.table = allowed, table
        self.outcomes: dict[str, JobOutcome] = {}

    def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        """Nothing to checkpoint: an answer is a few tokens, asked again if lost."""

    async def check(self, job: Job, result: CallResult) -> Verdict:
        answer = read_answer(result.text, self.allowed, self.table)
        if answer.model is None:
            return Verdict(False, None, [f"{answer.problem}; reply with front matter: task, model, reason"])
        return Verdict(True, json.dumps({"model": answer.model, "reason": answer.reason}), [])

    def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        self.outcomes[job.key] = outcome

    def on_event(self, event: DispatchEvent) -> None:
        """No progress display: a handful of short calls."""


async def _dispatch(asked: Sequence[Question], info: ModelInfo, provider: Provider, allowed: list[str],
                    table: ModelTable) -> DispatchReport:
    from orchestrator.dispatch.engine import dispatch

    jobs = [Job(f"classify-{q.index}", str(q.index), info, q.request) for q in asked]
    try:
        return await dispatch(jobs, provider, _Hooks(allowed, table), DispatchSettings(workers=4, repair_attempts=1))
    finally:
        await provider.aclose()


def _results(asked: Sequence[Question], report: DispatchReport, allowed: list[str],
             table: ModelTable) -> dict[int, Classified]:
    by_key = {o.key: o for o in report.outcomes}
    found: dict[int, Classified] = {}
    for q in asked:
        outcome = by_key.get(f"classify-{q.index}")
        if outcome is not None and outcome.ok and outcome.content:
            data = json.loads(outcome.content)
            found[q.index] = Classified(str(data["model"]), str(data["reason"]))
            continue
        why = (outcome.error or "; ".join(outcome.failures)) if outcome else "not asked (the dispatch stopped)"
        click.echo(f"--classify: no usable answer for {q.spec.origin} ({why}); it keeps the default")
    spent = f"${report.cost_usd:.4f}"
    calls = sum(o.calls for o in report.outcomes)
    click.echo(f"--classify: {len(found)} of {len(asked)} answered; {calls} call(s), {spent} spent")
    if report.fatal is not None:
        click.echo(f"--classify stopped: {report.fatal.message}")
    return found
