"""RENDER: the batch's ``index.html``, one self-contained file (no network, no script).

The page shows the plan, phase, model mix, token and cost totals, the
estimate against the actual spend, an inline SVG chart of cost per row, and
a table of every row (status, model, attempts, tokens, cost, each validation
check, a link to the output) whose outputs open rendered in place, inside a
``<details>`` element. Markdown is rendered with markdown-it-py with raw HTML
disabled, so an output cannot inject markup into the page.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
from collections import Counter
from collections.abc import Iterator
from importlib import resources
from itertools import chain
from pathlib import Path
from string import Template
from typing import Any

from markdown_it import MarkdownIt
from mdit_py_plugins.front_matter import front_matter_plugin

from orchestrator.dispatch.ledger import Ledger
from orchestrator.models import Usage
from orchestrator.pipeline.context import Context, StageResult
from orchestrator.pipeline.store.checkpoints import ItemFiles, ItemState, read_json
from orchestrator.pipeline.store.records import ParsedRecord
from orchestrator.pipeline.view.summary import RowResult, RunSummary, usd
from orchestrator.recorder.atomic import write_if_different
from orchestrator.validators import extract_document

ESTIMATE_FILE = "estimate.json"
_BAR_W, _ROW_H, _LABEL_W = 560, 22, 260
_LABEL_CHARS = 40  # item id and title in the chart's labels


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": False}).enable("table").use(front_matter_plugin)


#: rows whose document is rendered into the page; later rows link to their file (a 10,000-row page
#: of rendered documents is tens of megabytes and takes a browser far too long to open)
DOC_ROWS = 200


def _template() -> Template:
    text = resources.files("orchestrator").joinpath("templates/report.html").read_text(encoding="utf-8")
    return Template(text)


def _script() -> tuple[str, str]:
    """The page's one script (filter and pages) and its CSP hash: no other script can run in the page."""
    text = resources.files("orchestrator").joinpath("templates/report.js").read_text(encoding="utf-8")
    digest = base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii")
    return text, f"sha256-{digest}"


def _card(key: str, value: str, note: str = "") -> str:
    extra = f'<div class="n">{_e(note)}</div>' if note else ""
    return f'<div class="card"><div class="k">{_e(key)}</div><div class="v">{_e(value)}</div>{extra}</div>'


def _chart(results: list[RowResult]) -> tuple[str, str]:
    """An inline SVG bar chart of cost per row (tokens when nothing was priced)."""
    by_cost = any(r.cost_usd > 0 for r in results)
    values = [r.cost_usd if by_cost else float(r.tokens) for r in results]
    title = "Cost per row" if by_cost else "Tokens per row"
    if not results or max(values, default=0) <= 0:
        return title, '<p class="sub">No calls recorded yet.</p>'
    top = max(values)
    height = _ROW_H * len(results) + 10
    width = _LABEL_W + _BAR_W + 120
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="{_e(title)}">'
    ]
    for i, (row, value) in enumerate(zip(results, values, strict=True)):
        y = 5 + i * _ROW_H
        w = max(1, round(_BAR_W * value / top)) if value > 0 else 0
        color = {"complete": "#2da44e", "parse_error": "#cf222e", "failed": "#cf222e"}.get(row.kind, "#bf8700")
        label = usd(value) if by_cost else f"{int(value):,} tok"
        name = row.name if len(row.name) <= _LABEL_CHARS else row.name[: _LABEL_CHARS - 1] + "\u2026"
        parts.append(f'<text x="0" y="{y + 14}">{_e(name)}</text>')
        parts.append(
            f'<rect x="{_LABEL_W}" y="{y + 3}" width="{w}" height="{_ROW_H - 8}" fill="{color}">'
            f"<title>{_e(row.title)}: {_e(label)}</title></rect>"
        )
        parts.append(f'<text x="{_LABEL_W + w + 6}" y="{y + 14}">{_e(label)}</text>')
    parts.append("</svg>")
    return title, "\n".join(parts)


def _checks(parsed: ParsedRecord | None) -> str:
    """Failed checks in full; passed and skipped ones folded into a count."""
    if parsed is None or not parsed.checks:
        return '<span class="skip">not parsed yet</span>'
    failed, rest = [], []
    for check in parsed.checks:
        name, msg = _e(check.name), _e(check.message)
        if check.skipped:
            rest.append(f'<li class="skip" title="{msg}">&ndash; {name} (skipped)</li>')
        elif check.ok:
            rest.append(f'<li class="pass" title="{msg}">&#10003; {name}</li>')
        else:
            failed.append(f'<li class="fail">&#10007; {name}: {msg}</li>')
    passed = sum(1 for c in parsed.checks if c.ok and not c.skipped)
    summary = f'<summary><span class="pass">&#10003; {passed} passed</span>'
    summary += f', <span class="fail">{len(failed)} failed</span></summary>' if failed else "</summary>"
    return (
        f'<ul class="checks">{"".join(failed)}</ul>'
        f'<details class="checks">{summary}<ul class="checks">{"".join(rest)}</ul></details>'
    )


def _content(response_text: str | None, result: RowResult) -> str | None:
    """The output as written (complete rows), else the latest response's document."""
    if result.output and Path(result.output).is_file():
        try:  # the user's file, which may have been edited since: shown as it is
            return Path(result.output).read_text(encoding="utf-8", errors="replace")
        except OSError:
            return None
    return extract_document(response_text).content if response_text is not None else None


def _link(result: RowResult, report_dir: Path) -> str:
    if result.output and Path(result.output).is_file():
        href = Path(os.path.relpath(result.output, report_dir)).as_posix()
        if not href.startswith(("../", "/")):
            href = f"./{href}"  # never read as a scheme (`javascript:`), whatever the file is called
        return f'<a href="{_e(href)}">{_e(Path(result.output).name)}</a>'
    return '<span class="skip">not written</span>'


def _value(value: object) -> str:
    return ", ".join(str(v) for v in value) if isinstance(value, list) else str(value)


def _doc_row(state: ItemState, result: RowResult, md: MarkdownIt) -> str:
    """A full-width row under the item's row: its document, rendered, in a <details>."""
    parsed = state.parsed
    content = _content(state.response_text, result)
    if content is None:
        return ""
    front = parsed.front_matter if parsed is not None else {}
    fm = "".join(f"<span><b>{_e(k)}</b>: {_e(_value(v))}</span> " for k, v in front.items())
    label = f"View {Path(result.output).name}" if result.output else "View the latest response"
    return (
        f'<tr class="doc-row" data-for="{_e(result.item)}"><td></td><td colspan="9">'
        f'<details><summary>{_e(label)}</summary><div class="fm">{fm}</div>'
        f'<div class="doc">{md.render(content)}</div></details></td></tr>'
    )


def _docs_note(rows: int) -> str:
    if rows <= DOC_ROWS:
        return ""
    return (
        f'<p class="sub">The first {DOC_ROWS:,} rows show their document here; the other {rows - DOC_ROWS:,} '
        "link to their output file.</p>"
    )


def _row(ctx: Context, result: RowResult, md: MarkdownIt | None) -> str:
    state = ctx.store.load(ItemFiles(result.item, ctx.batch.item_dir(result.item)))
    parsed = state.parsed
    shown_reason = result.reason if result.kind in ("failed", "pending") else None
    reason = f'<div class="reason">{_e(shown_reason)}</div>' if shown_reason else ""
    return (
        f'<tr id="{_e(result.item)}" data-status="{_e(result.kind)}"><td>{_e(result.item)}</td>'
        f"<td>{_e(result.row_id)}</td><td>{_e(result.title)}{_SIM_MARK if result.simulated else ''}</td>"
        f'<td><span class="status {_e(result.kind)}">{_e(result.kind.replace("_", " "))}</span>'
        f"{reason}</td>"
        f'<td>{_e(result.model)}{_via(result)}</td><td class="num">{result.attempts}</td>'
        f'<td class="num">{result.tokens:,}</td><td class="num">{_e(usd(result.cost_usd))}'
        f"{' simulated' if result.simulated else ''}</td>"
        f"<td>{_checks(parsed)}</td><td>{_link(result, ctx.batch.report_dir)}</td></tr>"
        + (_doc_row(state, result, md) if md is not None else "")
    )


def _spent_since(ledger_path: Path, calls_before: int) -> tuple[float, int]:
    """Cost and tokens of the ledger's calls after its first ``calls_before`` lines."""
    cost, tokens = 0.0, 0
    for i, line in enumerate(Ledger(ledger_path).entries()):
        if i >= calls_before:
            cost += float(line.get("cost_usd") or 0.0)
            tokens += Usage.from_dict(line.get("usage") or {}).total
    return cost, tokens


def _estimate_table(estimate: dict[str, Any] | None, ledger_path: Path, actual_cost: float, actual_tokens: int) -> str:
    """The last PROCESS estimate against what was spent after it (all runs for an old estimate.json)."""
    if not estimate:
        return '<p class="sub">No estimate was made for this batch (run <code>orchestrate process</code>).</p>'
    cost, tokens = (
        float(estimate.get("cost_usd", 0.0)),
        int(estimate.get("input_tokens", 0)) + int(estimate.get("output_tokens", 0)),
    )
    since = estimate.get("ledger_calls_before")
    label = "all runs"
    if isinstance(since, int):
        actual_cost, actual_tokens = _spent_since(ledger_path, since)
        label = "since the estimate"
    delta = f"{round(100 * (actual_cost - cost) / cost):+d}%" if cost > 0 else "-"
    rows = [
        ("Estimated cost", usd(cost)),
        (f"Actual cost ({label})", usd(actual_cost)),
        ("Difference", delta),
        ("Estimated tokens", f"{tokens:,}"),
        (f"Actual tokens ({label})", f"{actual_tokens:,}"),
        ("Items estimated", str(estimate.get("items", ""))),
        ("Input tokens from", str(estimate.get("input_method", ""))),
        ("Output tokens from", str(estimate.get("output_method", ""))),
        ("Prices as of", str((estimate.get("prices") or {}).get("as_of", ""))),
    ]
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv" id="estimate">{body}</table>'


_SIM_MARK = ' <span class="sim">simulated</span>'


def _via(result: RowResult) -> str:
    """The provider the row's response came from (every row records it)."""
    return f'<div class="via">via {_e(result.provider)}</div>' if result.provider else ""


def _notices(results: list[RowResult], run: RunSummary | None) -> str:
    """At the top of the page: simulated rows, the summary's counts, and every rule not machine-checked."""
    parts: list[str] = []
    sim = sum(1 for r in results if r.simulated)
    if sim:
        parts.append(
            f'<p class="notice"><strong>Simulated:</strong> {sim} of {len(results)} row(s) come from the local '
            "API simulator (<code>--provider sim</code>): a rehearsal. Their text and costs are not real.</p>"
        )
    if run is not None:  # the summary's own counts (what this command did is in its output and --json)
        counts = " &middot; ".join(f"{_e(k)}: {v}" for k, v in run.standing())
        parts.append(f'<p class="notice" id="standing">{counts}</p>')
    skipped = run.skipped if run is not None else []
    if skipped:
        items = "".join(
            f"<li><code>{_e(r.where)}</code> {_e(r.text)}: {_e(r.reason)}; to check it: {_e(r.enable)}</li>"
            for r in skipped
        )
        parts.append(f'<div class="notice"><strong>Not machine-checked ({len(skipped)} rule(s))</strong>'
                     f"<ul>{items}</ul></div>")
    return "\n".join(parts)


#: where the rows go in the page while it is written in parts (never in any row: rows are escaped)
_ROWS_MARK = "\x00rows\x00"


def render_html(ctx: Context, results: list[RowResult], run: RunSummary | None = None) -> str:
    """The whole page as one string (:func:`render` writes it in parts)."""
    head, rows, tail = _page(ctx, results, run)
    return head + "".join(rows) + tail


def _page(ctx: Context, results: list[RowResult], run: RunSummary | None) -> tuple[str, Iterator[str], str]:
    """The page before the rows, the rows (made one by one as taken, each after its newline), the rest."""
    md = _markdown()
    tokens = sum(r.tokens for r in results)
    cost = sum(r.cost_usd for r in results)
    attempts = sum(r.attempts for r in results)
    mix = Counter(r.model for r in results if r.model)
    complete = sum(1 for r in results if r.kind == "complete")
    cards = [
        _card("Items", str(len(results))),
        _card("Complete", str(complete), f"{len(results) - complete} pending"),
        _card("Tokens", f"{tokens:,}", "all runs"),
        _card("Cost", usd(cost), "all runs" + (", simulated" if any(r.simulated for r in results) else "")),
        _card("Models", ", ".join(f"{m} \u00d7{n}" for m, n in sorted(mix.items())) or "-"),
    ]
    chart_title, chart = _chart(results)
    script, script_hash = _script()
    estimate = read_json(ctx.batch.dir / ESTIMATE_FILE)
    page = _template().substitute(
        batch_id=_e(ctx.batch.id),
        plan=_e(Path(os.path.relpath(ctx.batch.plan_path, ctx.batch.report_dir)).as_posix()),
        phase=ctx.batch.phase,
        created=_e(ctx.batch.created),
        notices=_notices(results, run),
        cards="\n".join(cards),
        estimate=_estimate_table(estimate, ctx.batch.ledger_path, cost, tokens),
        chart_title=_e(chart_title),
        chart=chart,
        rows=_ROWS_MARK,
        docs_note=_docs_note(len(results)),
        script=script,
        script_hash=script_hash,
        total_attempts=attempts,
        total_tokens=f"{tokens:,}",
        total_cost=_e(usd(cost)),
    )
    head, tail = page.split(_ROWS_MARK)
    rows = (("\n" if i else "") + _row(ctx, r, md if i < DOC_ROWS else None) for i, r in enumerate(results))
    return head, rows, tail


def render(ctx: Context, results: list[RowResult], run: RunSummary | None = None) -> StageResult:
    """Write ``index.html`` unless it already holds exactly this page (``run``: the command's summary).

    Written row by row into a temp file beside it, then compared with the page
    there: 10,000 rows never sit in memory as one page.
    """
    result = StageResult("render")
    head, rows, tail = _page(ctx, results, run)
    path = ctx.batch.report_path
    path.parent.mkdir(parents=True, exist_ok=True)
    if write_if_different(path, (part.encode("utf-8") for part in chain([head], rows, [tail]))):
        result.done.append(path.name)
    else:
        result.skipped.append(path.name)
    return result
