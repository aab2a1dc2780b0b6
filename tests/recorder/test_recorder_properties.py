"""Property: status changes touch the Status cells (and an aligned column's padding), nothing else."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recorder_plangen import STYLES, GenPlan, GenRow, GenTable, plans

from orchestrator.plan.parser import parse_plan
from orchestrator.plan.table_syntax import split_cells
from orchestrator.recorder.cells import set_statuses
from orchestrator.recorder.notes import read_notes, set_run_notes
from orchestrator.recorder.text import split_lines

Change = tuple[int, str]  # (row index in the plan, status)


@st.composite
def plans_and_changes(draw: st.DrawFn) -> tuple[GenPlan, list[list[Change]]]:
    plan = draw(plans())
    count = len(plan.rows)
    change = st.tuples(st.integers(0, count - 1), st.sampled_from(["pending", "complete"]))
    return plan, draw(st.lists(st.lists(change, min_size=1, max_size=4), min_size=1, max_size=6))


def _table_lines(text: str) -> dict[str, list[int]]:
    """Line indexes of each phase table (header, delimiter, rows), keyed by phase heading."""
    plan = parse_plan(text)
    out: dict[str, list[int]] = {}
    for phase in plan.phases:
        assert phase.table is not None
        header = phase.table.header_line - 1
        out[str(phase.number)] = [header, header + 1, *(r.line - 1 for r in phase.rows)]
    return out


def _widths(lines: list[str], indexes: list[int], column: int) -> set[int]:
    spans = [split_cells(lines[i])[column] for i in indexes]
    return {span.end - span.start for span in spans}


def _without_cell(line: str, column: int) -> str:
    cell = split_cells(line)[column]
    return line[: cell.start] + line[cell.end :]


def _check_step(before: str, after: str, plan: GenPlan, expected: dict[str, str], changed: set[str]) -> None:
    parsed = parse_plan(after)
    assert {r.id: r.status for r in parsed.rows()} == expected
    style = STYLES[plan.style]
    for row in parsed.rows():
        if row.id in changed and row.status != "skipped":
            assert row.status_text == style(row.status)
    old_lines, new_lines = split_lines(before), split_lines(after)
    assert len(old_lines) == len(new_lines)
    tables = _table_lines(before)
    in_tables = {i for lines in tables.values() for i in lines}
    for i, (old, new) in enumerate(zip(old_lines, new_lines, strict=True)):
        if i not in in_tables:
            assert old == new, f"line {i + 1} changed outside any table"
    for table, (phase, lines) in zip(plan.tables, tables.items(), strict=True):
        _check_table(table, lines, old_lines, new_lines, {r.id for r in table.rows} & changed, phase)


def _check_table(
    table: GenTable, lines: list[int], old: list[str], new: list[str], changed: set[str], phase: str
) -> None:
    column = 4
    header, delimiter, *body = lines
    for i in lines:
        if i == delimiter:
            old_cell, new_cell = (split_cells(line)[column] for line in (old[i], new[i]))
            old_raw = old[i][old_cell.start : old_cell.end]
            assert old_raw.replace("-", "") == new[i][new_cell.start : new_cell.end].replace("-", "")
        assert _without_cell(old[i], column) == _without_cell(new[i], column), f"phase {phase}"
    if table.aligned and len(_widths(old, [header, *body], column)) == 1:
        assert len(_widths(new, [header, *body], column)) == 1, "an aligned column lost its alignment"
        return
    ids = [r.id for r in table.rows]
    for row_id, i in zip(ids, body, strict=True):
        if row_id not in changed:
            assert old[i] == new[i]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(plans_and_changes())
def test_status_changes_touch_only_status_cells(case: tuple[GenPlan, list[list[Change]]]) -> None:
    plan, steps = case
    text = plan.text
    expected = {r.id: r.status for r in plan.rows}
    assert {r.id: r.status for r in parse_plan(text).rows()} == expected  # generator sanity
    for step in steps:
        changes: dict[tuple[int, str], tuple[str, str]] = {}
        for index, status in step:
            row: GenRow = plan.rows[index]
            changes[(row.phase, row.id)] = (row.filename, status)
        new_text, skipped = set_statuses(text, changes)
        changed = set()
        for (_, row_id), (_, status) in changes.items():
            if expected[row_id] == "skipped":
                continue
            if expected[row_id] != status:
                changed.add(row_id)
            expected[row_id] = status
        skipped_ids = {s[1] for s in skipped}
        assert skipped_ids == {rid for (_, rid) in changes if expected[rid] == "skipped"}
        _check_step(text, new_text, plan, expected, changed)
        text = new_text
    assert text.startswith("\ufeff") == plan.text.startswith("\ufeff")


@settings(max_examples=60, deadline=None)
@given(
    plans(), st.lists(st.tuples(st.integers(0, 20), st.one_of(st.none(), st.text(min_size=1, max_size=30))), max_size=8)
)
def test_run_notes_touch_only_their_section(plan: GenPlan, ops: list[tuple[int, str | None]]) -> None:
    text = plan.text
    rows = plan.rows
    model: dict[tuple[int, str], tuple[str, str]] = {}
    for index, reason in ops:
        row = rows[index % len(rows)]
        key = (row.phase, row.id)
        text = set_run_notes(text, {key: (row.filename, reason)})
        if reason is None:
            model.pop(key, None)
        else:
            model[key] = (row.filename, " ".join(reason.split()))
        assert text.startswith(plan.text.rstrip("\r\n ")), "text before the section changed"
        assert {r.id: r.status for r in parse_plan(text).rows()} == {r.id: r.status for r in rows}
    assert read_notes(text) == model
