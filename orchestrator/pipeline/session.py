"""What one command invocation works with: its options, its terminal, its batch.

The CLI fills :class:`Options` and :class:`Terminal`; everything after that
(opening the batch, checking the plan, printing in text or JSON) happens here
and in :mod:`orchestrator.pipeline.driver`, so the click layer stays thin.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from orchestrator.models import load_model_table
from orchestrator.pipeline.context import Context, StageResult
from orchestrator.pipeline.judge import Judge
from orchestrator.pipeline.store.batch import find_batches, open_batch, refuse_blocked_folders
from orchestrator.pipeline.store.shapes import check_batch_folder
from orchestrator.pipeline.store.usage import UsageBook
from orchestrator.pipeline.store.writer import sync_filesystem
from orchestrator.pipeline.view.summary import shown
from orchestrator.plan.check import load_checked_plan, require_phase
from orchestrator.plan.model import Plan
from orchestrator.plan.parser import read_plan
from orchestrator.providers.registry import KEY_VARIABLES, resolve_provider_name
from orchestrator.recorder import Recorder
from orchestrator.recorder.writes import load_settled
from orchestrator.validators import compile_plan

DEFAULT_WORKERS = 5
DEFAULT_REPAIR_ATTEMPTS = 2
RECORD_EVERY_S = 30.0


@dataclass
class Options:
    """Every option a pipeline command may take (``None``: not given)."""

    plan: Path | None = None
    phase: int | None = None
    batch_id: str | None = None
    data_dir: Path | None = None
    limit: int | None = None
    workers: int | None = None
    model: str | None = None
    provider: str | None = None
    repair_attempts: int | None = None
    max_cost: float | None = None
    yes: bool = False
    as_json: bool = False
    trust_plan: bool = False
    wait: bool = False
    # --provider anthropic-batch (Message Batches): see orchestrator.batches.jobs.BatchRunSettings
    no_wait: bool = False
    repair_online: bool = False
    max_attempts: int | None = None
    retry_exhausted: bool = False
    batch_max_requests: int | None = None
    batch_max_bytes: int | None = None
    # --provider claude-code: keep each agent's session (see orchestrator.providers.claude_code)
    keep_sessions: bool = False


@dataclass
class Terminal:
    """Where text goes, and whether a person is there to answer."""

    out: TextIO
    err: TextIO
    interactive: bool  # stdin is a terminal: questions may be asked
    live: bool  # stdout is a terminal: progress is redrawn in place
    ask: Callable[[str], bool]


def _with_phase(plan: Plan, phase: int) -> Plan:
    require_phase(plan, phase)  # an editor's in-place save caught half done has no phases yet
    return plan


class Session:
    """One command: its options, terminal and context, and how it prints."""

    def __init__(self, command: str, opts: Options, term: Terminal) -> None:
        self.command, self.opts, self.term = command, opts, term
        self._book: UsageBook | None = None
        self._judge: Judge | None = None
        self._provider: str | None = None
        self._unique: bool | None = None  # whether --batch-id alone finds this batch (searched once)
        self.ctx = self.open()

    def open(self) -> Context:
        """The batch (found or new), today's plan, and the sticky settings (the model) merged in."""
        opts = self.opts
        batch = open_batch(opts.plan, opts.phase, opts.batch_id, opts.data_dir)
        plan = load_settled(batch.plan_path, load_checked_plan)  # a save caught half done is read again
        refuse_blocked_folders(batch)
        require_phase(plan, batch.phase)
        models = load_model_table(plan.base_dir)
        if opts.provider is not None:  # a wrong name is bad input before anything is written
            resolve_provider_name(opts.provider)
        saved = batch.settings
        settings = saved.merged(model=opts.model)
        if settings.model:
            models.resolve(settings.model)
        batch = replace(batch, settings=settings)
        ctx = Context(batch, plan, models, limit=opts.limit, model_override=settings.model)
        if self.command != "clean":  # clean is how a damaged checkpoint is removed
            check_batch_folder(batch.dir)
            for files in ctx.items():  # read once, shapes checked, before any stage writes
                ctx.store.load(files)
            self._book = UsageBook.from_ledger(batch.ledger_path)
        if batch.batch_file.exists() and self.command != "estimate" and settings != saved:
            batch.save()  # `estimate --model opus` is a what-if: it must not switch the batch's model
        return ctx

    def provider_name(self) -> str:
        """The provider of this command: ``--provider``, else the environment (a key selects anthropic).

        Never ``batch.json``: see :class:`~orchestrator.pipeline.store.batch.BatchSettings`.
        Bad input (exit 2) when none can be chosen.
        """
        if self._provider is None:
            self._provider = resolve_provider_name(self.opts.provider)
        return self._provider

    @property
    def provider_why(self) -> str:
        """Why :meth:`provider_name` chose what it chose, for the run header."""
        if self.opts.provider is not None:
            return f"--provider {self.opts.provider}"
        found = next((var for var in KEY_VARIABLES if os.environ.get(var)), None)
        return f"no --provider given and {found} is set" if found else "no --provider given"

    @property
    def workers(self) -> int:
        return self.opts.workers or DEFAULT_WORKERS

    @property
    def repair_attempts(self) -> int:
        given = self.opts.repair_attempts
        return DEFAULT_REPAIR_ATTEMPTS if given is None else given

    def reload(self) -> Context:
        """The same batch with the plan read again (after the recorder wrote it)."""
        ctx = self.ctx
        phase = ctx.batch.phase
        plan = load_settled(ctx.batch.plan_path, lambda path: _with_phase(read_plan(path), phase))
        self.ctx = Context(ctx.batch, plan, ctx.models, ctx.limit, ctx.model_override, ctx.store)
        self._judge = None  # compiled from the plan as it was: not kept alive beside the new one
        return self.ctx

    def recorder(self) -> Recorder:
        """The plan's recorder for this command (holds the plan's lock while open).

        Statuses reach the plan every :data:`RECORD_EVERY_S` seconds and when
        the command ends, never per row: each write re-reads and re-checks the
        whole plan, CPU work that would compete with the event loop. A run
        killed in between loses nothing: its responses are in the ledger, and
        the rerun records them without a call.
        """
        plan = self.ctx.plan
        outputs = plan.output_dir_path() or plan.base_dir
        return Recorder(
            self.ctx.batch.plan_path,
            wait=self.opts.wait,
            debounce=RECORD_EVERY_S,
            tracking_path=plan.tracking_file_path(),
            # outputs are written without an fsync each: one syncfs makes them durable before statuses name them
            before_plan_write=lambda: sync_filesystem(outputs),
            # what a killed run left (temp files, rows complete but unregistered) is put right on opening;
            # a status asked for that the plan does not show at the end fails the command (exit 1)
            reconcile=plan,
            sweep=(self.ctx.batch.dir, self.ctx.batch.report_path.parent),
            strict=True,
        )

    def judge(self) -> Judge:
        """The one judge of this command (the plan's rules compiled once)."""
        if self._judge is None:
            compiled = compile_plan(self.ctx.plan, trust_plan=self.opts.trust_plan)
            self._judge = Judge(compiled, self.ctx.plan.base_dir)
        return self._judge

    def book(self) -> UsageBook:
        """The batch's ledger, read once per command (this run's attempts are added as they happen)."""
        if self._book is None:
            self._book = UsageBook.from_ledger(self.ctx.batch.ledger_path)
        return self._book

    # --- printing -----------------------------------------------------------------

    @property
    def text_stream(self) -> TextIO:
        """Human-readable text: stdout, or stderr when stdout carries ``--json``."""
        return self.term.err if self.opts.as_json else self.term.out

    def say(self, text: str = "") -> None:
        print(text, file=self.text_stream, flush=True)

    def emit_json(self, data: dict[str, Any]) -> None:
        print(json.dumps(data, indent=2, default=str), file=self.term.out, flush=True)

    def stage_lines(self, result: StageResult) -> None:
        verb = {"acquire": "written", "prepare": "written", "parse": "parsed", "render": "written"}
        head = (
            f"{result.stage.upper()}: {len(result.done)} {verb.get(result.stage, 'done')}, "
            f"{len(result.skipped)} current (skipped)"
        )
        if result.blocked:
            head += f", {len(result.blocked)} blocked"
        if result.failed:
            head += f", {len(result.failed)} failed"
        if result.waiting:
            head += f", {len(result.waiting)} waiting"
        self.say(head)
        for item, why in [*result.blocked, *result.failed, *result.waiting][:20]:
            self.say(f"  {item}: {why}")
        for note in result.notes:
            self.say(f"  {note}")

    def rerun_command(self, stage: str) -> str:
        batch = self.ctx.batch
        unique = self._unique
        if unique is None:  # a search of the folders around: once per command, once the batch exists
            found = find_batches(batch.id)
            unique = len(found) == 1 and found[0].parent == batch.dir  # else --batch-id alone would not find it
            if batch.dir.is_dir():
                self._unique = unique
        where = "" if unique else f" --data-dir {shown(batch.dir.parent)}"
        return f"orchestrate {stage} --batch-id {batch.id}{where}"
