"""Every structural problem in a plan, found at once, each with its line and a fix.

``check_plan`` never raises for a problem in the plan: it returns them all,
so ``orchestrate check`` can report everything in one pass. Each check is a
small function taking the plan (and the model table) and yielding problems.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath, PureWindowsPath

from orchestrator.errors import BadInputError, InputFileError, PlanError, PlanProblems, Problem
from orchestrator.models import ModelTable, load_model_table
from orchestrator.plan.model import KNOWN_STATUSES, SECTION_KEYS, Phase, Plan, Row, item_key
from orchestrator.plan.parser import read_plan
from orchestrator.plan.reference_rules import check_reference_rules
from orchestrator.plan.table_syntax import split_cells
from orchestrator.safeio import TRACKING, check_readable

Check = Callable[[Plan, ModelTable], Iterator[Problem]]

_SECTION_TITLES = {
    "format reference": "Format Reference",
    "output directory": "Output Directory",
    "content rules": "Content Rules",
    "validation checklist": "Validation Checklist",
}
_SECTION_HINTS = {
    "format reference": "add `## Format Reference` followed by the path of your hand-written example output",
    "output directory": "add `## Output Directory` followed by the folder outputs are written to, e.g. `output/`",
    "content rules": "add `## Content Rules` with one `- rule` per line (they are copied into every prompt)",
    "validation checklist": "add `## Validation Checklist` with numbered checks, e.g. `1. Front matter includes ...`",
}


def _p(plan: Plan, line: int | None, message: str, hint: str = "") -> Problem:
    return Problem(plan.path, line, message, hint)


def check_sections(plan: Plan, _models: ModelTable) -> Iterator[Problem]:
    for key, required in SECTION_KEYS.items():
        section = plan.section(key)
        if section is None:
            if required:
                yield _p(plan, 1, f"missing required section: {_SECTION_TITLES[key]}", _SECTION_HINTS[key])
            continue
        single_value = key in ("format reference", "output directory", "tracking file")
        if not section.items:
            yield _p(plan, section.line, f"section '{section.heading}' is empty",
                     _SECTION_HINTS.get(key, "write its value on the line below the heading"))
        elif single_value and len(section.items) > 1:
            yield _p(plan, section.items[1].line,
                     f"section '{section.heading}' must hold one path, found {len(section.items)} lines",
                     "keep only the path; move explanations into prose outside the section")
    for dup in plan.duplicate_sections:
        first = plan.sections[dup.key]
        yield _p(plan, dup.line, f"duplicate section '{dup.heading}' (first at line {first.line})",
                 "merge the two sections into one")


def check_phases(plan: Plan, _models: ModelTable) -> Iterator[Problem]:
    if not plan.phases:
        yield _p(plan, 1, "no `## Phase N` section found",
                 "add `## Phase 1` followed by a table | # | Title | Filename | Model | Status |")
    seen: dict[int, int] = {}
    for phase in plan.phases:
        if phase.number in seen:
            yield _p(plan, phase.heading_line,
                     f"duplicate Phase {phase.number} (first at line {seen[phase.number]})",
                     "give each phase its own number")
        seen.setdefault(phase.number, phase.heading_line)
        if phase.table is None:
            yield _p(plan, phase.heading_line, f"Phase {phase.number} has no table",
                     "add a table | # | Title | Filename | Model | Status | under the heading")
            continue
        for column in phase.table.missing_columns:
            name = column if column == "#" else column.title()
            yield _p(plan, phase.table.header_line, f"Phase {phase.number} table has no '{name}' column",
                     "the header must name the columns #, Title, Filename, Model and Status")
    for line in plan.orphan_tables:
        cells = {c.text.strip().lower() for c in split_cells(plan.source_line(line))}
        if {"filename", "status"} <= cells:
            yield _p(plan, line, "task table is never run: it is not the first table under a `## Phase N` heading",
                     "give it its own heading such as `## Phase 3`, or merge it into that phase's table")


def _complete_tables(plan: Plan) -> Iterator[Row]:
    for phase in plan.phases:
        if phase.table is not None and not phase.table.missing_columns:
            yield from phase.rows


def check_rows(plan: Plan, _models: ModelTable) -> Iterator[Problem]:
    ids: dict[str, int] = {}
    keys: dict[str, tuple[str, int]] = {}  # item folder -> the first row id naming it, and its line
    names: dict[str, int] = {}
    columns_at = {row.line: len(phase.table.columns)
                  for phase in plan.phases if phase.table is not None for row in phase.rows}
    for row in _complete_tables(plan):
        source = plan.source_line(row.line)
        width = len(split_cells(source))
        columns = columns_at[row.line]
        if "|" not in source:
            yield _p(plan, row.line, "this line directly after the table is read as one more table row",
                     "leave a blank line between a table and the text after it")
            continue
        if width > columns:
            yield _p(plan, row.line, f"row has {width} cells but the table has {columns} columns",
                     "escape a literal pipe in a cell as \\| or remove the extra cell")
        if not row.id:
            yield _p(plan, row.line, "row has an empty '#' cell", "give every row a unique number")
        elif row.id in ids:
            yield _p(plan, row.line, f"duplicate # {row.id} (first at line {ids[row.id]})",
                     "row numbers must be unique across the whole plan")
        elif (key := item_key(row.id)) in keys and keys[key][0] != row.id:
            first, line = keys[key]
            yield _p(plan, row.line, f"# {row.id} and # {first} (line {line}) name the same item folder {key}",
                     f"number the rows differently (e.g. not both {first} and {row.id})")
        ids.setdefault(row.id, row.line)
        if row.id:
            keys.setdefault(item_key(row.id), (row.id, row.line))
        if not row.title:
            yield _p(plan, row.line, "row has an empty Title", "the title is what the output covers")
        if row.filename:
            key = PurePosixPath(row.filename.replace("\\", "/")).as_posix().lower()
            if key in names:
                yield _p(plan, row.line, f"duplicate Filename {row.filename} (first at line {names[key]})",
                         "two rows would overwrite each other's output; give each its own file")
            names.setdefault(key, row.line)
        if row.status not in KNOWN_STATUSES:
            shown = row.status_text or "(empty)"
            yield _p(plan, row.line, f"unknown Status '{shown}'",
                     f"use one of: {', '.join(KNOWN_STATUSES)} (any case)")


def check_filenames(plan: Plan, _models: ModelTable) -> Iterator[Problem]:
    out_dir = plan.output_dir_path()
    real_out = Path(os.path.realpath(out_dir)) if out_dir is not None else None  # once, not once per row
    for row in _complete_tables(plan):
        problem = filename_problem(row.filename, out_dir, real_out)
        if problem:
            yield _p(plan, row.line, problem,
                     "use a plain relative name such as quorum.md (sub-folders inside the Output Directory are fine)")


#: Characters refused in a Filename, and why: ':' makes the report's link a URL scheme
#: (``javascript:...``) and is not allowed on Windows.
_UNSAFE_CHARS = {":": "':' (a link to it would read as a URL scheme such as javascript:; "
                 "Windows forbids it too)", "\x7f": "a control character",
                 "\ufffd": "a NUL byte or an invalid character (shown as U+FFFD)"}
_NAME_MAX = 255


def filename_problem(filename: str, out_dir: Path | None, real_out: Path | None = None) -> str | None:
    """Why ``filename`` is not a safe output path inside ``out_dir``, or None.

    Symlinks are resolved, so a link inside the output folder that points
    elsewhere is refused too. ``real_out`` is ``out_dir`` already resolved,
    when the caller checks many rows.
    """
    if not filename:
        return "row has an empty Filename"
    posix = PurePosixPath(filename)
    if posix.is_absolute() or PureWindowsPath(filename).is_absolute() or filename.startswith("~"):
        return f"Filename {filename} is absolute"
    if ".." in PurePosixPath(filename.replace("\\", "/")).parts:
        return f"Filename {filename} contains '..'"
    bad = next((c for c in filename if ord(c) < 0x20 or c in _UNSAFE_CHARS), None)
    if bad is not None:
        return f"Filename {filename!r} contains {_UNSAFE_CHARS.get(bad, 'a control character')}"
    long_part = next((part for part in posix.parts if len(part.encode()) > _NAME_MAX), None)
    if long_part is not None:
        return f"Filename {filename[:60]}... has a name longer than {_NAME_MAX} bytes, which no file system stores"
    if out_dir is None:
        return None
    real_out = real_out or Path(os.path.realpath(out_dir))
    target = _real_target(real_out, posix)
    if not target.is_relative_to(real_out) or target == real_out:
        return f"Filename {filename} resolves outside the Output Directory ({target})"
    return None


def _real_target(real_out: Path, name: PurePosixPath) -> Path:
    """Where ``name`` inside the resolved Output Directory really is.

    A plain name that is not a symlink is itself: one ``lstat`` instead of
    ``realpath``'s one per folder of the whole path, for each of 10,000 rows.
    """
    candidate = real_out / name
    if len(name.parts) == 1 and name.name == str(name) and not os.path.islink(candidate):
        return candidate
    return Path(os.path.realpath(candidate))


def file_in_the_way(folder: Path | str) -> Path | None:
    """The file at ``folder`` or at one of its ancestors, which would stop the folder being made."""
    for candidate in (Path(folder), *Path(folder).parents):
        if candidate.exists() or candidate.is_symlink():
            return None if candidate.is_dir() else candidate
    return None


def check_models(plan: Plan, models: ModelTable) -> Iterator[Problem]:
    known = ", ".join(sorted(models.models))
    for row in _complete_tables(plan):
        if not row.model:
            yield _p(plan, row.line, "row has an empty Model", f"use one of: {known}")
        elif models.get(row.model) is None:
            yield _p(plan, row.line, f"model '{row.model}' has no entry in the model table",
                     f"use one of: {known}, a full model id, or add [models.{row.model}] to orchestrate.toml")


def check_paths(plan: Plan, models: ModelTable) -> Iterator[Problem]:
    ref = plan.format_reference
    if ref is not None:
        path = plan.resolve(ref.text)
        if not os.path.lexists(path):  # a symlink loop "exists": the read names it
            yield _p(plan, ref.line, f"format reference not found: {path}",
                     "write the hand-written example output first, or fix the path (relative to the plan's folder)")
        elif path.is_dir():
            yield _p(plan, ref.line, f"format reference is not a file: {path}", "point it at a markdown file")
        else:
            yield from _reference_problems(plan, models)
    yield from _tracking_file_problems(plan)
    out = plan.output_directory
    if out is not None:
        path = plan.resolve(out.text)
        blocker = file_in_the_way(path)
        if blocker == path:
            yield _p(plan, out.line, f"Output Directory is not a folder: {path}", "name a folder, e.g. output/")
        elif blocker is not None:
            yield _p(plan, out.line, f"Output Directory {path} cannot be created: {blocker} is a file",
                     f"move or rename the file {blocker}, or name another folder")


def _reference_problems(plan: Plan, models: ModelTable) -> Iterator[Problem]:
    """The reference exists: it must also be a readable regular file within its size limit, UTF-8,
    with usable front matter (every output copies it), and small enough that every row's request
    fits its model's context window (it is sent with each one)."""
    from orchestrator.request_size import reference_problems
    from orchestrator.validators.reference import read_reference

    try:
        facts = read_reference(plan)
    except PlanError as exc:
        yield Problem(exc.path or plan.path, exc.line, exc.message, exc.hint or "")
        return
    yield from reference_problems(plan, facts.text, models)


def _tracking_file_problems(plan: Plan) -> Iterator[Problem]:
    """A tracking file that exists must be one the recorder can read (found now, not after paying)."""
    path = plan.tracking_file_path()
    named = plan.tracking_file_text()
    line = named.line if named else None
    try:
        check_readable(path, TRACKING)
    except IsADirectoryError:
        yield _p(plan, line, f"tracking file is a folder: {path}", "name a file, e.g. output/tracking.yaml")
    except InputFileError as exc:
        yield _p(plan, line, f"{exc.message}: {path}", exc.hint or "")


CHECKS: tuple[Check, ...] = (
    check_sections, check_phases, check_rows, check_filenames, check_models, check_paths, check_reference_rules,
)


def check_plan(plan: Plan, models: ModelTable) -> list[Problem]:
    """All problems in ``plan``, sorted by line."""
    problems = [problem for check in CHECKS for problem in check(plan, models)]
    return sorted(problems, key=lambda p: (p.line or 0))


def require_phase(plan: Plan, number: int) -> Phase:
    """The plan's Phase ``number``, or bad input (exit 2) naming the phases it has."""
    found = plan.phase(number)
    if found is None:
        known = ", ".join(str(p.number) for p in plan.phases) or "none"
        raise BadInputError(f"no Phase {number} in the plan", path=plan.path, hint=f"phases in this plan: {known}")
    return found


def load_checked_plan(path: Path) -> Plan:
    """Read a plan and refuse it (exit 2, every problem listed) if ``check`` would.

    Every command that acts on a plan goes through here, so none of them
    starts work, or writes anything, on a plan ``orchestrate check`` rejects.
    """
    plan = read_plan(path)
    problems = check_plan(plan, load_model_table(plan.base_dir))
    if problems:
        raise PlanProblems(problems, path)
    return plan
