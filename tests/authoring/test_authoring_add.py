"""``orchestrate add``: rows from every source, appended in the table's own style, nothing else touched."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from authorkit import copy_examples, inserted_lines, orchestrate

from orchestrator.plan.parser import read_plan
from orchestrator.recorder.lock import PlanLock

ALIGNED = """\
# Aligned plan

## Format Reference
../format_refs/idempotency.md

## Output Directory
output/aligned/

## Content Rules
- Every output needs front matter: term, category, tags

## Validation Checklist
1. Front matter includes term, category, and tags

## Phase 1

| #  | Title        | Filename        | Model | Status   |
|:---|:-------------|:----------------|:------|---------:|
| 1  | Idempotency  | idempotency.md  | haiku | complete |
| 2  | Quorum       | quorum.md       | haiku |  pending |

## Model Selection Rules
- Default: haiku for a single glossary term
- Use sonnet for any task that compares or synthesizes across multiple terms
"""

PIPELESS = ALIGNED.replace("""\
| #  | Title        | Filename        | Model | Status   |
|:---|:-------------|:----------------|:------|---------:|
| 1  | Idempotency  | idempotency.md  | haiku | complete |
| 2  | Quorum       | quorum.md       | haiku |  pending |
""", """\
id | Title | Filename | Model | Status
---|-------|----------|-------|-------
1 | Idempotency | idempotency.md | haiku | complete
2 | Quorum | quorum.md | haiku | pending
""")


@pytest.fixture()
def plans(tmp_path: Path) -> Path:
    return copy_examples(tmp_path)


def _rows(plan: Path, phase: int) -> list[tuple[str, str, str, str, str]]:
    found = read_plan(plan).phase(phase)
    assert found is not None
    return [(r.id, r.title, r.filename, r.model, r.status) for r in found.rows]


def _add(plan: Path, *args: str, input: str | None = None) -> tuple[bytes, bytes, str]:
    before = plan.read_bytes()
    result = orchestrate("add", str(plan), *args, input=input)
    assert result.code == 0, result.err
    check = orchestrate("check", str(plan))
    assert check.code == 0, check.err
    return before, plan.read_bytes(), result.out


def test_add_titles_as_arguments_continues_ids_and_chooses_models_by_the_rules(plans: Path) -> None:
    plan = plans / "glossary.md"
    before, after, out = _add(plan, "--phase", "1", "Raft", "Raft vs Paxos", "Leases (synthesis)")
    added = inserted_lines(before, after)
    assert added == [b"| 10 | Raft | raft.md | haiku | pending |\n",
                     b"| 11 | Raft vs Paxos | raft-vs-paxos.md | sonnet | pending |\n",
                     b"| 12 | Leases (synthesis) | leases-synthesis.md | sonnet | pending |\n"]
    assert after.index(added[0]) < after.index(b"## Phase 2")  # at the end of Phase 1's table
    assert "raft.md, haiku: default rule (line 44)" in out
    assert 'raft-vs-paxos.md, sonnet: rule "compares or synthesizes" (line 45): title has "vs"' in out
    assert 'title has "synthesis"' in out


def test_add_from_a_text_file_and_from_stdin(plans: Path, tmp_path: Path) -> None:
    plan = plans / "glossary.md"
    titles = tmp_path / "titles.txt"
    titles.write_text("Gossip Protocol\n\n  Leader Election  \r\nSplit Brain\n")
    before, after, _ = _add(plan, "--phase", "1", "--from", str(titles))
    assert [line.split(b"|")[2].strip() for line in inserted_lines(before, after)] == [
        b"Gossip Protocol", b"Leader Election", b"Split Brain"]
    before, after, _ = _add(plan, "--phase", "2", input="Two-Phase Commit vs Sagas\n")
    assert inserted_lines(before, after) == [
        b"| 13 | Two-Phase Commit vs Sagas | two-phase-commit-vs-sagas.md | sonnet | pending |\n"]
    before, after, _ = _add(plan, "--phase", "2", "--from", "-", input='{"title": "Anti-Entropy"}\n')
    assert b"| 14 | Anti-Entropy | anti-entropy.md | haiku | pending |\n" in inserted_lines(before, after)


def test_add_csv_with_extra_columns_into_a_new_phase(plans: Path, tmp_path: Path) -> None:
    plan = plans / "glossary.md"
    csv_file = tmp_path / "terms.csv"
    csv_file.write_text('Title,Depth,Audience,model\n'
                        'Quorum Reads,deep,"SREs, DBAs",\nLamport vs Vector,,juniors,opus\n')
    before, after, out = _add(plan, "--phase", "3", "--from", str(csv_file))
    added = b"".join(inserted_lines(before, after)).decode()
    assert added.strip("\n") == ("## Phase 3\n| # | Title | Filename | Model | Status | Depth | Audience |\n"
                     "|---|-------|----------|-------|--------|-------|----------|\n"
                     "| 10 | Quorum Reads | quorum-reads.md | haiku | pending | deep | SREs, DBAs |\n"
                     "| 11 | Lamport vs Vector | lamport-vs-vector.md | opus | pending |  | juniors |")
    assert after.index(b"## Phase 3") < after.index(b"## Model Selection Rules")
    assert "given in " in out and "terms.csv:3" in out
    row = read_plan(plan).find_row("10")
    assert row is not None and row.cells["Depth"] == "deep"
    prompt = orchestrate("prompt", str(plan), "--row", "10")
    assert "Row details: Depth: deep; Audience: SREs, DBAs." in " ".join(prompt.out.split())


def test_add_extra_columns_to_an_existing_table_only_widen_it(plans: Path, tmp_path: Path) -> None:
    plan = plans / "glossary.md"
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"title": "Hinted Handoff", "Depth": "deep"}\n\n{"title": "Read Repair", "filename": '
                    '"repair/read-repair.md", "Depth": 2}\n')
    before = plan.read_text()
    result = orchestrate("add", str(plan), "--phase", "2", "--from", str(rows))
    assert result.code == 0, result.err
    after = plan.read_text()
    old_lines, new_lines = before.splitlines(), after.splitlines()
    phase2 = read_plan(plan).phase(2)
    assert phase2 is not None and phase2.table is not None
    table_lines = range(phase2.table.header_line - 1, phase2.table.end_line)
    for index, line in enumerate(new_lines):
        if index not in table_lines:
            continue
        if index < len(old_lines) and old_lines[index].startswith("|") and index < phase2.rows[3].line - 1:
            assert line.startswith(old_lines[index]), (old_lines[index], line)  # only cells appended
    outside = [line for i, line in enumerate(new_lines) if i not in table_lines]
    assert outside == [line for i, line in enumerate(old_lines) if not (table_lines.start <= i < table_lines.start + 5)]
    assert _rows(plan, 2)[-2:] == [("10", "Hinted Handoff", "hinted-handoff.md", "haiku", "pending"),
                                   ("11", "Read Repair", "repair/read-repair.md", "haiku", "pending")]
    assert orchestrate("check", str(plan)).code == 0
    assert "new column(s): Depth" in result.out


@pytest.mark.parametrize("style", ["aligned", "pipeless"])
def test_add_keeps_an_aligned_or_pipe_less_table_in_its_style(plans: Path, style: str) -> None:
    plan = plans / f"{style}.md"
    plan.write_text(ALIGNED if style == "aligned" else PIPELESS)
    before = plan.read_bytes()
    result = orchestrate("add", str(plan), "--phase", "1", "Backpressure vs Load Shedding")
    assert result.code == 0, result.err
    after = plan.read_bytes()
    if style == "pipeless":
        assert inserted_lines(before, after) == [
            b"3 | Backpressure vs Load Shedding | backpressure-vs-load-shedding.md | sonnet | pending\n"]
        return
    table = after.decode().split("## Phase 1\n\n")[1].split("\n\n")[0].splitlines()
    assert table[-1] == "| 3  | Backpressure vs Load Shedding | backpressure-vs-load-shedding.md | sonnet |  pending |"
    assert len({len(line) for line in table}) == 1  # still aligned: every line as wide
    original = ALIGNED.split("## Phase 1\n\n")[1].split("\n\n")[0].splitlines()
    squeeze = [line.replace(" ", "").replace("-", "") for line in table[:-1]]
    assert squeeze == [line.replace(" ", "").replace("-", "") for line in original]  # only padding changed
    rest_before, rest_after = before.split(b"## Model Selection Rules"), after.split(b"## Model Selection Rules")
    assert rest_before[1] == rest_after[1] and rest_before[0].split(b"## Phase 1")[0] == rest_after[0].split(
        b"## Phase 1")[0]


def test_colliding_titles_get_unique_filenames(plans: Path) -> None:
    plan = plans / "glossary.md"
    before, after, out = _add(plan, "--phase", "1", "Quorum", "QUORUM", "quorum!")
    names = [line.split(b"|")[3].strip() for line in inserted_lines(before, after)]
    assert names == [b"quorum-2.md", b"quorum-3.md", b"quorum-4.md"]  # quorum.md is row 2's
    assert "quorum.md is taken: named quorum-2.md" in out


def test_a_hostile_title_gives_a_safe_cell_and_filename_and_changes_nothing_else(plans: Path) -> None:
    plan = plans / "glossary.md"
    hostile = "a | b \\| ../../etc/passwd <script>alert(1)</script>\n## Phase 9\r\n" + "x" * 10_000 + "\\"
    before, after, out = _add(plan, "--phase", "1", hostile)
    (line,) = inserted_lines(before, after)
    row = read_plan(plan).find_row("10")
    assert row is not None
    assert row.title == hostile.replace("\n", " ").replace("\r", " ").strip()
    assert row.filename == "a-b-etc-passwd-script-alert-1-script-phase-9.md"
    assert line.count(b"\n") == 1 and b"## Phase 9" in line
    assert [p.number for p in read_plan(plan).phases] == [1, 2]
    assert "(10062 characters)" in out or "characters)" in out


def test_dry_run_prints_the_rows_and_writes_nothing(plans: Path) -> None:
    plan = plans / "glossary.md"
    before = plan.read_bytes()
    result = orchestrate("add", str(plan), "--phase", "4", "Raft vs Paxos", "--dry-run")
    assert result.code == 0, result.err
    assert plan.read_bytes() == before
    assert "would write to" in result.out and "(new section: Phase 4)" in result.out
    assert "  | 10 | Raft vs Paxos | raft-vs-paxos.md | sonnet | pending |" in result.out
    assert "dry run: nothing was written" in result.out


def test_model_option_overrides_the_rules(plans: Path) -> None:
    plan = plans / "glossary.md"
    _, _, out = _add(plan, "--phase", "1", "Raft vs Paxos", "--model", "opus")
    assert _rows(plan, 1)[-1][3] == "opus" and "opus: --model" in out


def test_crlf_plan_gets_crlf_rows(plans: Path) -> None:
    plan = plans / "glossary.md"
    plan.write_bytes(plan.read_bytes().replace(b"\n", b"\r\n"))
    before, after, _ = _add(plan, "--phase", "1", "Raft")
    assert inserted_lines(before, after) == [b"| 10 | Raft | raft.md | haiku | pending |\r\n"]


@pytest.mark.parametrize(("args", "source", "message"), [
    (["Raft", "--model", "gpt-9"], None, "unknown model 'gpt-9'"),
    (["--from", "{src}"], "title,filename\nRaft,../escape.md\n", "contains '..'"),
    (["--from", "{src}"], "title,filename\nRaft,quorum.md\n", "quorum.md is already used"),
    (["--from", "{src}"], "title,Status\nRaft,complete\n", "new rows are always pending"),
    (["--from", "{src}"], "name\nRaft\n", "no 'title' column"),
    (["--from", "{src}"], "title,model\nRaft,gpt-9\n", "model 'gpt-9' has no entry"),
    (["--from", "{src}"], "title,Depth\n,deep\n", "empty title"),
])
def test_bad_rows_are_refused_before_anything_is_written(plans: Path, tmp_path: Path, args: list[str],
                                                         source: str | None, message: str) -> None:
    plan = plans / "glossary.md"
    before = plan.read_bytes()
    src = tmp_path / "rows.csv"
    if source is not None:
        src.write_text(source)
    result = orchestrate("add", str(plan), "--phase", "1", *(a.replace("{src}", str(src)) for a in args))
    assert result.code == 2, result.out + result.err
    assert message in result.err
    assert plan.read_bytes() == before


def test_no_rows_and_a_locked_plan_are_refused(plans: Path) -> None:
    plan = plans / "glossary.md"
    before = plan.read_bytes()
    result = orchestrate("add", str(plan), "--phase", "1", input="")
    assert result.code == 2 and "no rows to add" in result.err
    with PlanLock(plan):
        result = orchestrate("add", str(plan), "--phase", "1", "Raft")
    assert result.code == 1 and "locked by another orchestrate process" in result.err
    assert plan.read_bytes() == before


def test_check_json_still_lists_no_warnings_after_adding_by_the_rules(plans: Path) -> None:
    plan = plans / "glossary.md"
    _add(plan, "--phase", "2", "Raft vs Paxos", "Raft")
    data = json.loads(orchestrate("check", str(plan), "--json").out)
    assert data["ok"] and data["warnings"] == []


def test_hostile_extra_columns_stay_one_cell_each(plans: Path, tmp_path: Path) -> None:
    plan = plans / "glossary.md"
    rows = tmp_path / "rows.jsonl"
    rows.write_text('{"title": "Raft", "Note | x\\n## Phase 7": "a | b\\r\\nc"}\n')
    before, after, _ = _add(plan, "--phase", "5", "--from", str(rows))
    row = read_plan(plan).find_row("10")
    assert row is not None and row.cells["Note | x ## Phase 7"] == "a | b  c"
    assert [p.number for p in read_plan(plan).phases] == [1, 2, 5]
    assert all(line.count(b"\n") == 1 for line in inserted_lines(before, after))
