"""The text of a new plan, derived from a format reference (``orchestrate new``).

Every rule it writes is stated in a phrasing the validators compile (see
docs/validation.md): the reference's front matter keys, its ``##``
sections in their order, a blank line before tables when the reference
leaves one. What only the author knows, the values a key may take, is left
as a marked block to fill in: an HTML comment, so that it is neither sent in
prompts nor checked until someone writes the values. The Model Selection
Rules get a default; Phase 1 gets an empty table for ``orchestrate add``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from orchestrator.errors import BadInputError
from orchestrator.validators.document import Document, is_separated, parse_document
from orchestrator.validators.fmparse import FMStatus

DEFAULT_MODEL = "haiku"
FILL_IN = "TO FILL IN"
_KEY_RE = re.compile(r"^[A-Za-z_][\w-]*$")
_NEEDS_QUOTES_RE = re.compile(r"[,;|]|\s/\s")
_PATH_NEEDS_TICKS_RE = re.compile(r"[^\w./\-]")


@dataclass(frozen=True)
class Reference:
    path: Path
    doc: Document


def read_reference_file(path: Path) -> Reference:
    """The format reference at ``path``, refused (exit 2) when it cannot serve as one."""
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise BadInputError("format reference not found", path=path,
                            hint="write one finished, hand-written output first, then pass its path") from None
    except IsADirectoryError:
        raise BadInputError("is a folder, not a format reference", path=path,
                            hint="pass the markdown file of one hand-written output") from None
    except OSError as exc:
        raise BadInputError(f"cannot read format reference: {exc.strerror or exc}", path=path,
                            hint="check the path and the file's permissions") from None
    except UnicodeDecodeError:
        raise BadInputError("format reference is not valid UTF-8", path=path, hint="save it as UTF-8") from None
    doc = parse_document(text)
    if doc.front_matter.status not in (FMStatus.OK, FMStatus.MISSING):
        raise BadInputError(f"the format reference's front matter is unusable: {doc.front_matter.message}",
                            path=path, line=doc.front_matter.line,
                            hint="every output copies the reference: fix its front matter first")
    return Reference(path, doc)


def relative(target: Path, plan_dir: Path) -> str:
    """``target`` as the plan writes paths: relative to the plan's folder, with ``/``."""
    return Path(os.path.relpath(os.path.realpath(target), os.path.realpath(plan_dir))).as_posix()


def plan_text(ref: Reference, plan_path: Path, output_dir: Path | None) -> str:
    """The new plan for ``ref``, to be written at ``plan_path``."""
    plan_dir = plan_path.parent
    out = (relative(output_dir, plan_dir) if output_dir is not None else f"output/{plan_path.stem}").rstrip("/")
    out = f"{out}/"
    keys = [k for k in ref.doc.front_matter.entries if _KEY_RE.match(k)]
    sections = _section_list(ref.doc)
    rules = [*_key_rules(keys, sections), *_table_rule(ref.doc)]
    checks = [f"Front matter includes {_listed(keys)}"] if keys else []
    checks += [f"{sections} sections present, in that order"] if sections else []
    checks.append(f"Output registered in {out}tracking.yaml")
    lines = [
        "# Batch Creation Plan", "",
        f"Written by `orchestrate new` from {ref.path.name}. Paths below are relative to this",
        "file's folder. Fill in what is marked TO FILL IN, then add rows with `orchestrate add`.", "",
        "## Format Reference", _path_text(relative(ref.path, plan_dir)), "",
        "## Output Directory", _path_text(out), "",
        "## Content Rules", *(f"- {r}" for r in rules or ["Follow the format reference's structure and style"]),
        *_fill_in(ref.doc, keys), "",
        "## Validation Checklist", *(f"{n}. {c}" for n, c in enumerate(checks, 1)), "",
        "## Model Selection Rules", f"- Default: {DEFAULT_MODEL} for every task",
        "<!-- Add a rule for each kind of task that needs a stronger model, e.g.",
        "- Use sonnet for any task that compares or synthesizes",
        "(docs/plan-format.md lists the phrasings understood) -->", "",
        "## Phase 1", "| # | Title | Filename | Model | Status |", "|---|-------|----------|-------|--------|", "",
    ]
    return "\n".join(lines)


def _listed(names: list[str]) -> str:
    if len(names) <= 2:
        return " and ".join(names)
    return f"{', '.join(names[:-1])}, and {names[-1]}"


def _section_list(doc: Document) -> str:
    names = [h.text for h in doc.sections()]
    if not names or any("`" in n for n in names):
        return ""
    return _listed([f"`{n}`" if _NEEDS_QUOTES_RE.search(n) else n for n in names])


def _key_rules(keys: list[str], sections: str) -> list[str]:
    rules = [f"Every output needs front matter: {', '.join(keys)}"] if keys else []
    if sections:
        rules.append(f"Include {sections} sections, in that order")
    return rules


def _table_rule(doc: Document) -> list[str]:
    if doc.tables and all(is_separated(t.line_before) for t in doc.tables):
        return ["Blank line before every markdown table"]
    return []


def _enum_candidates(doc: Document, keys: list[str]) -> list[str]:
    """Keys whose reference value looks like one of a few categories (short text, not a number)."""
    found = []
    for key in keys[1:]:  # the first key usually holds the title
        value = doc.front_matter.entries[key].value
        short = isinstance(value, str) and value and len(value) <= 30 and len(value.split()) <= 3
        if short and isinstance(value, str) and not re.fullmatch(r"[\d.,:/\- ]+", value):
            found.append(key)
    return found


def _fill_in(doc: Document, keys: list[str]) -> list[str]:
    candidates = _enum_candidates(doc, keys)
    if not candidates:
        return []
    return [
        f"<!-- {FILL_IN}: for each key below that takes one of a fixed set of values, write",
        "the values and move the line into the list above (it is then sent in every prompt",
        "and checked); delete the lines that do not apply, and this comment.",
        *(f"- {key} must be one of: VALUE, VALUE" for key in candidates),
        "-->",
    ]


def _path_text(path: str) -> str:
    if "`" in path or "\n" in path:
        raise BadInputError(f"cannot write the path {path!r} into a plan", hint="rename the file or folder")
    return f"`{path}`" if _PATH_NEEDS_TICKS_RE.search(path) else path
