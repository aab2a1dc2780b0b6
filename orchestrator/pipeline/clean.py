"""``clean --clean-stage STAGE``: remove that stage's checkpoints and every later one.

Cleaning PARSE or an earlier stage also removes the outputs the batch wrote
into the Output Directory (only files still holding exactly what was written:
an output edited since is kept, with a warning) and sets those rows back to
``pending``, so the next run redoes exactly those items. The ledger is never
cleaned: it is the record of money already spent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.errors import BadInputError, CheckpointError
from orchestrator.pipeline.context import Context
from orchestrator.pipeline.stages.parse import RowRecorder
from orchestrator.pipeline.store.batch import STAGES
from orchestrator.pipeline.store.checkpoints import ERROR, ItemFiles, read_json, sha256_bytes
from orchestrator.pipeline.store.records import ParsedRecord
from orchestrator.pipeline.store.usage import void_responses
from orchestrator.pipeline.view.summary import shown
from orchestrator.plan.model import Row


@dataclass
class CleanPlan:
    """What a clean will delete and which rows it will set back to pending."""

    stage: str
    files: list[Path] = field(default_factory=list)
    outputs: list[tuple[Path, Row]] = field(default_factory=list)
    kept: list[tuple[Path, str]] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)  # item folders left empty (acquire)
    batch_dir: Path | None = None
    void: set[str] = field(default_factory=set)  # items whose paid responses are not to be restored

    @property
    def empty(self) -> bool:
        return not self.files and not self.outputs

    def describe(self) -> str:
        lines = [f"Clean from stage {self.stage} ({' → '.join(later(self.stage))}):"]
        if self.empty:
            return "\n".join([*lines, "  nothing to delete"])
        lines += [f"  delete {shown(p)}" for p in self.files]
        lines += [f"  delete output {shown(p)} and set row {row.id} back to pending" for p, row in self.outputs]
        lines += [f"  keep {shown(p)}: {why}" for p, why in self.kept]
        return "\n".join(lines)


def later(stage: str) -> tuple[str, ...]:
    """``stage`` and every stage after it."""
    if stage not in STAGES:
        raise BadInputError(f"unknown stage {stage!r}", hint=f"use one of: {', '.join(STAGES)}")
    return STAGES[STAGES.index(stage) :]


def plan_clean(ctx: Context, stage: str) -> CleanPlan:
    stages = later(stage)
    plan = CleanPlan(stage, batch_dir=ctx.batch.dir)
    rows = ctx.rows_by_item()
    for files in ctx.items():
        for name in stages:
            extra = [files.dir / ERROR] if name == "process" else []
            plan.files += [p for p in [*files.stage_paths(name), *extra] if p.exists()]
        if "parse" in stages:
            _plan_output(plan, files, rows.get(files.id))
        if "acquire" in stages:
            plan.folders.append(files.dir)
    if "process" in stages:
        plan.void = {files.id for files in ctx.items() if files.response_meta in plan.files}
    if "parse" in stages and ctx.batch.results_path.exists():
        plan.files.append(ctx.batch.results_path)
    if ctx.batch.report_path.exists():
        plan.files.append(ctx.batch.report_path)
    return plan


def _plan_output(plan: CleanPlan, files: ItemFiles, row: Row | None) -> None:
    try:
        data = read_json(files.parsed)
    except CheckpointError:
        plan.kept.append((files.dir, "its parsed.json is damaged, so the output it wrote (if any) is left in place"))
        return
    parsed = ParsedRecord.from_json(data) if data is not None else None
    if parsed is None or not parsed.written or not parsed.output:
        return
    path = Path(parsed.output)
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return
    if sha256_bytes(content) != parsed.output_sha256:
        plan.kept.append((path, "changed since the batch wrote it"))
    elif row is not None:
        plan.outputs.append((path, row))


def apply_clean(plan: CleanPlan, recorder: RowRecorder, ledger_lines: int = 0) -> None:
    """Delete what :func:`plan_clean` listed and queue the rows' return to pending.

    Cleaning PROCESS also voids the responses the ledger holds so far
    (``ledger_lines``) for those items: the ledger keeps them (it is the bill),
    but the next PROCESS asks again instead of restoring them, as asked.
    """
    if plan.void and plan.batch_dir is not None:
        void_responses(plan.batch_dir, plan.void, ledger_lines)
    for path, row in plan.outputs:
        path.unlink(missing_ok=True)
        recorder.set_status(row.phase, row.id, row.filename, "pending")
    for path in plan.files:
        path.unlink(missing_ok=True)
    for folder in plan.folders:
        if folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
