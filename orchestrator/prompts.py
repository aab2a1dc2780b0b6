"""The one prompt builder: what a person pastes and what the program sends.

The *AI Batch Generation Pipeline Template*'s DISPATCH prompt is four sentences: read the format reference,
produce output covering the title, follow the content rules, write the output
to a path. :func:`dispatch_prompt` prints them in the template's order for a person
to paste; :func:`build_request` sends the very same sentences to a model, with
what every row shares (instructions, the reference's text, the content rules)
first so that prompt caching pays for it once, and the row's own sentences
last. Both call the same sentence functions, so they cannot drift apart.
"""

from __future__ import annotations

import functools
import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.plan.model import Plan, Row

#: Column headers that are part of every row and so are not repeated as details.
_CORE_COLUMNS = {"#", "title", "filename", "model", "status"}

SYSTEM_INSTRUCTIONS = (
    "You write one file of a batch of generated documents. The format reference "
    "below is a finished, hand-written example: copy its front matter keys, its "
    "section headings and their order, and its style exactly, but write about the "
    "topic you are given. Reply with the file's complete content only: begin with "
    "the front matter's opening `---` line, and add no code fence and no commentary."
)


@dataclass(frozen=True)
class PromptPaths:
    """How paths appear in prompt text: the reference file and the output folder."""

    reference: str
    output_dir: str

    def output(self, filename: str) -> str:
        return f"{self.output_dir.rstrip('/')}/{filename}"


def plan_paths(plan: Plan) -> PromptPaths:
    """Paths as the plan writes them (stable whatever the working directory)."""
    ref = plan.format_reference
    out = plan.output_directory
    return PromptPaths(ref.text if ref else "", out.text if out else "")


def display_paths(plan: Plan, cwd: Path | None = None) -> PromptPaths:
    """Paths as a person in ``cwd`` would type them (relative when inside ``cwd``)."""
    here = (cwd or Path.cwd()).resolve()

    def show(path: Path | None) -> str:
        if path is None:
            return ""
        try:
            return path.relative_to(here).as_posix()
        except ValueError:
            return os.fspath(path)

    return PromptPaths(show(plan.format_reference_path()), show(plan.output_dir_path()))


# --- the four sentences ----------------------------------------------------


def reference_sentence(paths: PromptPaths) -> str:
    return f"Read {paths.reference} for structure, style, and front matter format."


def task_sentence(title: str) -> str:
    return f"Produce output covering {title}."


def rules_sentence(plan: Plan) -> str:
    return _rules(tuple(rule.text for rule in plan.content_rules))


def destination_sentence(paths: PromptPaths, filename: str) -> str:
    return f"Write the output to {paths.output(filename)}."


def details_sentence(row: Row) -> str:
    """Extra columns of the row (anything beyond the five required ones)."""
    return _details(tuple(row.cells.items()))


def _join(*sentences: str) -> str:
    return " ".join(s for s in sentences if s)


def wrap(text: str, *, width: int = 72, first: str = "", rest: str = "") -> str:
    """Wrap prose for a person without ever splitting a path or a hyphenated name."""
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


# --- for a person ------------------------------------------------------------


def dispatch_prompt(plan: Plan, row: Row, paths: PromptPaths | None = None) -> str:
    """The template's resolved DISPATCH prompt for one row, ready to paste."""
    paths = paths or display_paths(plan)
    return wrap(_join(
        reference_sentence(paths),
        task_sentence(row.title),
        details_sentence(row),
        rules_sentence(plan),
        destination_sentence(paths, row.filename),
    ))


def orchestrator_prompt(plan: Plan, phase: int, tracking_file: str, cwd: Path | None = None) -> str:
    """The template's orchestrator prompt (ENUMERATE, DISPATCH, VALIDATE, RECORD), resolved."""
    paths = display_paths(plan, cwd)
    here = (cwd or Path.cwd()).resolve()
    try:
        plan_path = plan.path.resolve().relative_to(here).as_posix()
    except ValueError:
        plan_path = os.fspath(plan.path.resolve())
    template = _join(
        reference_sentence(paths),
        "Produce output covering [title from plan].",
        rules_sentence(plan),
        f"Write the output to {paths.output_dir.rstrip('/')}/[filename from plan].",
    )
    quoted = wrap(f'"{template}"', first="  ", rest="   ")
    record = wrap("RECORD: Update the plan so each finished task's Status reads complete, "
                  f"register each output in {tracking_file}, and note any issues found.")
    return f"""Read the plan at {plan_path}.

ENUMERATE: Find every row in Phase {phase} with Status = pending.

DISPATCH: Hand off each pending task to its own synchronous agent, at the
model specified in its row, with this prompt:

{quoted}

Launch all agents for the phase in a single message so they run in parallel.

VALIDATE: Once every agent has returned, check their work yourself. Don't
read the full output files; check only what the Validation Checklist in
the plan asks for.
1. Run the project's linter on each output file and fix violations.
2. Read the front matter and section headers of each output file to
   confirm the fields, the category value, and the section order the
   checklist requires.

{record}
"""


# --- for a model -------------------------------------------------------------


@dataclass(frozen=True)
class RowRequest:
    """What the dispatcher sends for one row: a shared, cacheable prefix and the row's part.

    ``shared`` is identical for every row of a plan (so the provider marks it
    with ``cache_control``); ``row`` is the row's own instruction.
    """

    system: str
    shared: str
    row: str
    title: str
    extra: dict[str, str] = field(default_factory=dict)

    def as_text(self) -> str:
        """The exact request text, as checkpointed in ``prompt.md``."""
        return f"{self.system}\n\n{self.shared}\n\n{self.row}\n"


@dataclass(frozen=True)
class PromptFields:
    """Everything a row's request is made of, as plain fields (no Plan, no Row).

    PREPARE builds these from ``raw.json`` alone; :func:`fields_for` builds
    them from a parsed plan. The same sentence functions turn them into text,
    so the request sent and the prompt ``orchestrate prompt`` prints cannot drift.
    """

    reference_path: str  # as the plan writes it
    output_dir: str  # as the plan writes it
    content_rules: tuple[str, ...]
    title: str
    filename: str
    cells: tuple[tuple[str, str], ...] = ()  # every cell of the row, header and value

    @property
    def paths(self) -> PromptPaths:
        return PromptPaths(self.reference_path, self.output_dir)


def fields_for(plan: Plan, row: Row) -> PromptFields:
    ref, out = plan.format_reference, plan.output_directory
    return PromptFields(
        ref.text if ref else "",
        out.text if out else "",
        tuple(rule.text for rule in plan.content_rules),
        row.title,
        row.filename,
        tuple(row.cells.items()),
    )


def _rules(rules: tuple[str, ...]) -> str:
    cleaned = [rule.rstrip(".;") for rule in rules]
    return f"Follow these content rules: {'; '.join(cleaned)}." if cleaned else ""


def _details(cells: tuple[tuple[str, str], ...]) -> str:
    extras = [
        f"{name}: {value}" for name, value in cells if name.strip().lower() not in _CORE_COLUMNS and value.strip()
    ]
    return f"Row details: {'; '.join(extras)}." if extras else ""


def shared_prefix(plan: Plan, reference_text: str, paths: PromptPaths | None = None) -> str:
    """Reference sentence and text, then the content rules: the same for every row."""
    rules = tuple(rule.text for rule in plan.content_rules)
    return _shared(paths or plan_paths(plan), rules, reference_text)


@functools.lru_cache(maxsize=8)
def _shared(paths: PromptPaths, rules: tuple[str, ...], reference_text: str) -> str:
    """The shared prefix (cached: every row of a phase shares one string, not 10,000 copies of it)."""
    return _shared_text(paths, rules, reference_text)


def _shared_text(paths: PromptPaths, rules: tuple[str, ...], reference_text: str) -> str:
    return (
        f"{reference_sentence(paths)}\n\n"
        f'<format_reference path="{paths.reference}">\n{reference_text.rstrip()}\n</format_reference>\n\n'
        f"{_rules(rules)}"
    )


def build_request(plan: Plan, row: Row, reference_text: str) -> RowRequest:
    """The request for ``row``: the same sentences as :func:`dispatch_prompt`."""
    return request_for(fields_for(plan, row), reference_text)


def request_for(fields: PromptFields, reference_text: str) -> RowRequest:
    """The request made of ``fields``: what PREPARE writes to ``prompt.md``."""
    paths = fields.paths
    row_part = "\n".join(
        s
        for s in (task_sentence(fields.title), _details(fields.cells), destination_sentence(paths, fields.filename))
        if s
    )
    return RowRequest(SYSTEM_INSTRUCTIONS, _shared(paths, fields.content_rules, reference_text), row_part, fields.title)


def repair_message(failures: list[str]) -> str:
    """The follow-up turn after a validation failure: the validator's own words."""
    listed = "\n".join(f"- {f}" for f in failures)
    return (
        f"The file you returned failed validation:\n{listed}\n"
        "Fix only that and return the whole file, with nothing before or after it."
    )
