"""The one prompt builder: what a person pastes and what the program sends.

The seed's DISPATCH prompt is four sentences: read the format reference,
produce output covering the title, follow the content rules, write the output
to a path. :func:`dispatch_prompt` prints them in the seed's order for a person
to paste; :func:`build_request` sends the very same sentences to a model, with
what every row shares (instructions, the reference's text, the content rules)
first so that prompt caching pays for it once, and the row's own sentences
last. Both call the same sentence functions, so they cannot drift apart.
"""

from __future__ import annotations

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

    def output(self, row: Row) -> str:
        return f"{self.output_dir.rstrip('/')}/{row.filename}"


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


def task_sentence(row: Row) -> str:
    return f"Produce output covering {row.title}."


def rules_sentence(plan: Plan) -> str:
    rules = [rule.text.rstrip(".;") for rule in plan.content_rules]
    return f"Follow these content rules: {'; '.join(rules)}." if rules else ""


def destination_sentence(paths: PromptPaths, row: Row) -> str:
    return f"Write the output to {paths.output(row)}."


def details_sentence(row: Row) -> str:
    """Extra columns of the row (anything beyond the five required ones)."""
    extras = [
        f"{name}: {value}"
        for name, value in row.cells.items()
        if name.strip().lower() not in _CORE_COLUMNS and value.strip()
    ]
    return f"Row details: {'; '.join(extras)}." if extras else ""


def _join(*sentences: str) -> str:
    return " ".join(s for s in sentences if s)


def wrap(text: str, *, width: int = 72, first: str = "", rest: str = "") -> str:
    """Wrap prose for a person without ever splitting a path or a hyphenated name."""
    return textwrap.fill(text, width=width, initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False)


# --- for a person ------------------------------------------------------------


def dispatch_prompt(plan: Plan, row: Row, paths: PromptPaths | None = None) -> str:
    """The seed's resolved DISPATCH prompt for one row, ready to paste."""
    paths = paths or display_paths(plan)
    return wrap(_join(
        reference_sentence(paths),
        task_sentence(row),
        details_sentence(row),
        rules_sentence(plan),
        destination_sentence(paths, row),
    ))


def orchestrator_prompt(plan: Plan, phase: int, tracking_file: str, cwd: Path | None = None) -> str:
    """The seed's orchestrator prompt (ENUMERATE, DISPATCH, VALIDATE, RECORD), resolved."""
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


def shared_prefix(plan: Plan, reference_text: str, paths: PromptPaths | None = None) -> str:
    """Reference sentence and text, then the content rules: the same for every row."""
    paths = paths or plan_paths(plan)
    return (
        f"{reference_sentence(paths)}\n\n"
        f'<format_reference path="{paths.reference}">\n{reference_text.rstrip()}\n</format_reference>\n\n'
        f"{rules_sentence(plan)}"
    )


def build_request(plan: Plan, row: Row, reference_text: str) -> RowRequest:
    """The request for ``row``: the same sentences as :func:`dispatch_prompt`."""
    paths = plan_paths(plan)
    row_part = "\n".join(
        s for s in (task_sentence(row), details_sentence(row), destination_sentence(paths, row)) if s
    )
    return RowRequest(SYSTEM_INSTRUCTIONS, shared_prefix(plan, reference_text, paths), row_part, row.title)


def repair_message(failures: list[str]) -> str:
    """The follow-up turn after a validation failure: the validator's own words."""
    listed = "\n".join(f"- {f}" for f in failures)
    return (
        f"The file you returned failed validation:\n{listed}\n"
        "Fix only that and return the whole file, with nothing before or after it."
    )
