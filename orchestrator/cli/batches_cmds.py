"""``orchestrate batches list|status|cancel``: the Message Batches a plan's batch folders submitted.

``list`` reads the submission journal only (no key, no network); ``status``
asks the API for each submission still open; ``cancel`` asks it to cancel
them. None of them writes an output or a Status cell: the next
``run``/``process --provider anthropic-batch`` collects what finished.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from orchestrator.errors import EXIT_FAILED, EXIT_OK, BadInputError, ConfirmationRequired

_WHERE = """

\b
Examples:
  orchestrate batches {name} plans/glossary.md
  orchestrate batches {name} --batch-id glossary-phase1
"""


def _where(func: Any) -> Any:
    for decorator in reversed([
        click.argument("plan", required=False, type=click.Path(path_type=Path)),
        click.option("--phase", type=click.IntRange(min=1), help="Only this phase's batch folder."),
        click.option("--batch-id", help="The batch folder's id (e.g. glossary-phase1)."),
        click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path),
                     help="Folder holding batch folders; default data/ beside the plan."),
        click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout."),
    ]):
        func = decorator(func)
    return func


@click.group("batches")
def batches_group() -> None:
    """The Message Batches submitted for a plan (--provider anthropic-batch).

    \b
    Examples:
      orchestrate batches list plans/glossary.md
      orchestrate batches status --batch-id glossary-phase1
      orchestrate batches cancel plans/glossary.md --yes
    """


@batches_group.command("list", help="Every submission recorded for PLAN (journal only, no API call)."
                       + _WHERE.format(name="list"))
@_where
def list_cmd(plan: Path | None, phase: int | None, batch_id: str | None, data_dir: Path | None,
             as_json: bool) -> int:
    from orchestrator.batches.control import journal_status

    folders = batch_folders(plan, phase, batch_id, data_dir)
    return _show({f: journal_status(f) for f in folders}, as_json)


@batches_group.command("status", help="What the API says of each submission still in flight."
                       + _WHERE.format(name="status"))
@_where
def status_cmd(plan: Path | None, phase: int | None, batch_id: str | None, data_dir: Path | None,
               as_json: bool) -> int:
    from orchestrator.batches.control import live_status

    folders = batch_folders(plan, phase, batch_id, data_dir)
    return _show(asyncio.run(_with_api(lambda api: _each(folders, lambda f: live_status(api, f)))), as_json)


@batches_group.command("cancel", help="Cancel every submission still in flight; unfinished rows stay pending."
                       + _WHERE.format(name="cancel"))
@_where
@click.option("--yes", "-y", is_flag=True, help="Cancel without asking.")
def cancel_cmd(plan: Path | None, phase: int | None, batch_id: str | None, data_dir: Path | None,
               as_json: bool, yes: bool) -> int:
    from orchestrator.batches.control import cancel_open, journal_status

    folders = batch_folders(plan, phase, batch_id, data_dir)
    open_subs = [s for f in folders for s in journal_status(f) if s.submission.state == "submitted"]
    if not open_subs:
        click.echo("nothing to cancel: no submission is in flight", err=as_json)
        return EXIT_OK
    if not yes:
        if not sys.stdin.isatty():
            raise ConfirmationRequired(
                f"cancelling {len(open_subs)} submission(s) was not confirmed: nothing was cancelled",
                hint="pass --yes to cancel without a terminal",
            )
        if not click.confirm(f"Cancel {len(open_subs)} submission(s)? Requests already running may still finish.",
                             default=False, err=True):
            return EXIT_OK
    result = asyncio.run(_with_api(lambda api: _each(folders, lambda f: cancel_open(api, f))))
    code = _show(result, as_json)
    if not as_json:
        click.echo("Rows not finished stay pending; collect what did finish with "
                   "`orchestrate process ... --provider anthropic-batch`.")
    return code


# --- finding batch folders ------------------------------------------------------------------


def batch_folders(plan: Path | None, phase: int | None, batch_id: str | None, data_dir: Path | None) -> list[Path]:
    """The batch folders named by PLAN (every phase, or ``--phase``) or ``--batch-id``; bad input if none."""
    from orchestrator.pipeline.store.batch import BATCH_FILE, find_batch, load_batch

    if batch_id is not None:
        found = find_batch(batch_id, data_dir)
        if found is None:
            raise BadInputError(f"no batch {batch_id!r} found (looked for data/{batch_id}/batch.json)",
                                hint="pass PLAN instead, or --data-dir where the batch folders are")
        return [found.parent]
    if plan is None:
        raise BadInputError("name a plan (PLAN) or a batch folder (--batch-id ID)",
                            hint="e.g. `orchestrate batches list plans/glossary.md`")
    if not plan.is_file():
        raise BadInputError("no such plan file", path=plan, hint="check the path")
    real = plan.resolve()
    root = (data_dir or real.parent / "data").resolve()
    folders = []
    for batch_file in sorted(root.glob(f"*/{BATCH_FILE}")) if root.is_dir() else []:
        batch = load_batch(batch_file)
        if batch.plan_path == real and (phase is None or batch.phase == phase):
            folders.append(batch.dir)
    return folders


# --- talking to the API ---------------------------------------------------------------------


async def _with_api(work: Any) -> Any:
    from orchestrator.providers.anthropic_batch import AnthropicBatchProvider

    api = AnthropicBatchProvider.create(os.environ)
    try:
        return await work(api)
    finally:
        await api.aclose()


async def _each(folders: list[Path], ask: Any) -> dict[Path, Any]:
    return {folder: await ask(folder) for folder in folders}


# --- output --------------------------------------------------------------------------------------


def _rows(found: dict[Path, Any]) -> Iterator[dict[str, Any]]:
    for folder, statuses in found.items():
        for status in statuses:
            sub, info = status.submission, status.info
            yield {
                "batch_folder": folder.name,
                "submission": sub.local,
                "batch_id": sub.batch_id,
                "state": sub.state,
                "requests": len(sub.requests),
                "created": sub.created_at.isoformat(timespec="seconds"),
                "expires": info.expires_at.isoformat(timespec="seconds") if info else sub.expires_at,
                "processing_status": info.status if info else None,
                "counts": vars(info.counts) if info else None,
                "cancel_requested": sub.cancel_requested,
                "error": status.error,
            }


def _show(found: dict[Path, Any], as_json: bool) -> int:
    rows = list(_rows(found))
    failed = any(r["error"] for r in rows)
    if as_json:
        click.echo(json.dumps({"ok": not failed, "submissions": rows}, indent=2))
    elif not rows:
        click.echo("no Message Batches recorded" + (f" in {', '.join(f.name for f in found)}" if found else ""))
    for r in [] if as_json else rows:
        counts = r["counts"]
        tally = (" ".join(f"{k}={v}" for k, v in counts.items() if v) if counts else "")
        live = f" [{r['processing_status']}{': ' + tally if tally else ''}]" if r["processing_status"] else ""
        cancel = " (cancel requested)" if r["cancel_requested"] else ""
        click.echo(f"{r['batch_folder']} {r['submission']} {r['batch_id'] or '(id not recorded)'} "
                   f"{r['state']}{live}{cancel}: {r['requests']} requests, created {r['created']}, "
                   f"expires {r['expires'] or '?'}")
        if r["error"]:
            click.echo(f"  error: {r['error']}", err=True)
    return EXIT_FAILED if failed else EXIT_OK
