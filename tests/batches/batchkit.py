"""Helpers for the batch tests: jobs shaped like the pipeline's, hooks that judge and record."""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml
from simkit import CATEGORIES, SECTIONS, row_text, shared_prefix

from orchestrator.batches import BatchJob, BatchProgress, BatchRunReport, BatchRunSettings, run_batches
from orchestrator.dispatch.events import DispatchEvent
from orchestrator.dispatch.jobs import Job, JobOutcome, Verdict
from orchestrator.dispatch.ledger import Ledger
from orchestrator.models import ModelInfo, load_model_table
from orchestrator.prompts import SYSTEM_INSTRUCTIONS
from orchestrator.providers.anthropic_batch import AnthropicBatchProvider
from orchestrator.providers.base import CallRequest, CallResult, Turn

TITLES = ["Quorum", "Backpressure", "Fencing Token", "Vector Clock", "Gossip Protocol", "Write-Ahead Log"]
#: fast polling for tests
FAST = BatchRunSettings(poll_initial_s=0.02, poll_max_s=0.1, recover_window_s=60)


def haiku() -> ModelInfo:
    return load_model_table().resolve("haiku")


def make_jobs(titles: list[str] = TITLES, *, model: ModelInfo | None = None, max_tokens: int = 4000) -> list[BatchJob]:
    info = model or haiku()
    jobs = []
    for i, title in enumerate(titles, start=2):
        request = CallRequest(info.id, SYSTEM_INSTRUCTIONS, shared_prefix(), (Turn("user", row_text(title)),),
                              max_tokens)
        digest = hashlib.sha256(f"{title}\0{info.id}\0{max_tokens}".encode()).hexdigest()
        jobs.append(BatchJob(f"item-{i:04d}", str(i), info, request, digest))
    return jobs


def check_document(text: str) -> list[str]:
    """The simulator's reference rules: front matter with an allowed category, the three sections."""
    match = re.match(r"---\n(.*?)\n---\n(.*)", text, re.DOTALL)
    if not match:
        return ["no front matter"]
    front = yaml.safe_load(match.group(1)) or {}
    failures = []
    if front.get("category") not in CATEGORIES:
        failures.append(f"category {front.get('category')!r} is not one of {', '.join(CATEGORIES)}")
    if re.findall(r"^## (.+)$", match.group(2), re.MULTILINE) != SECTIONS:
        failures.append("sections must be Definition, Details, Related Terms")
    return failures


@dataclass
class Hooks:
    """BatchHooks that judge with :func:`check_document` and remember everything."""

    finished: dict[str, JobOutcome] = field(default_factory=dict)
    responses: list[tuple[str, int, tuple[Turn, ...]]] = field(default_factory=list)
    judged: int = 0
    progress: list[BatchProgress] = field(default_factory=list)
    events: list[DispatchEvent] = field(default_factory=list)

    async def on_response(self, job: Job, turns: tuple[Turn, ...], result: CallResult, attempt: int) -> None:
        self.responses.append((job.key, attempt, turns))

    async def judge(self, job: Job, result: CallResult) -> Verdict:
        self.judged += 1
        failures = check_document(result.text)
        return Verdict(not failures, result.text if not failures else None, failures)

    async def on_finished(self, job: Job, outcome: JobOutcome) -> None:
        self.finished[job.key] = outcome

    def on_progress(self, progress: BatchProgress) -> None:
        self.progress.append(progress)

    def on_event(self, event: DispatchEvent) -> None:
        self.events.append(event)


class Capturing(AnthropicBatchProvider):
    """The real provider, remembering every batch it created (custom_id -> params)."""

    created: list[dict[str, Any]]

    async def create_batch(self, requests: Any) -> Any:
        info = await super().create_batch(requests)
        if not hasattr(self, "created"):
            self.created = []
        self.created.append({cid: params for cid, params in requests})
        return info


async def run_async(
    jobs: list[BatchJob], url: str, folder: Path, hooks: Hooks | None = None, **settings: Any
) -> tuple[BatchRunReport, Hooks, Capturing]:
    hooks = hooks or Hooks()
    api = Capturing(api_key="sk-test", base_url=url, timeout=30)
    try:
        report = await run_batches(jobs, api, hooks, folder, replace(FAST, **settings),
                                   ledger=Ledger(folder / "ledger.jsonl"))
    finally:
        await api.aclose()
    return report, hooks, api


def run(jobs: list[BatchJob], url: str, folder: Path, **settings: Any) -> tuple[BatchRunReport, Hooks, Capturing]:
    return asyncio.run(run_async(jobs, url, folder, **settings))


def ledger_lines(folder: Path) -> list[dict[str, Any]]:
    return list(Ledger(folder / "ledger.jsonl").entries())


def journal_files(folder: Path) -> dict[str, list[str]]:
    root = folder / "batches"
    return {p.name: sorted(f.name for f in p.iterdir()) for p in sorted(root.glob("sub-*"))}


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())
