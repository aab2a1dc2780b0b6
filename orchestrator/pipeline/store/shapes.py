"""What each JSON file of a batch folder must hold, checked as it is read.

The program writes every one of these files itself (atomically), so a file
that is not JSON, or holds a field of the wrong type, was damaged from
outside: a hand edit, a truncated copy. It is refused (exit 2) with its path
and line, and the hint names how to rebuild it, before any stage runs on it.

A shape maps a dotted path to the types accepted there. ``a.b`` is key ``b``
of the object at ``a``; ``a[].b`` is key ``b`` of every object in the list
``a``; a path ending in ``?`` may be missing (or ``null``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from orchestrator import safeio
from orchestrator.errors import CheckpointError

Shape = dict[str, type | tuple[type, ...]]

SHAPES: dict[str, Shape] = {
    "batch.json": {
        "batch_id": str,
        "plan": str,
        "plan_absolute?": str,
        "phase": int,
        "report_dir": str,
        "settings?": dict,
        "settings.provider?": str,
        "settings.model?": str,
        "created?": str,
    },
    "raw.json": {
        "input_hash": str,
        "inputs.phase": int,
        "inputs.row.id": str,
        "inputs.row.title": str,
        "inputs.row.filename": str,
        "inputs.row.model": str,
        "inputs.row.cells": dict,
        "inputs.plan.format_reference": str,
        "inputs.plan.output_directory": str,
        "inputs.plan.content_rules": list,
        "inputs.plan.checklist": list,
        "inputs.reference.text": str,
    },
    "prompt.json": {
        "inputs.raw": str,
        "prompt_sha256": str,
        "model?": str,
        "title": str,
        "system": str,
        "shared": str,
        "row": str,
    },
    "response.json": {
        "inputs.request": str,
        "response_sha256": str,
        "model_id": str,
        "model?": str,
        "provider?": str,
        "stop_reason?": str,
        "usage?": dict,
        "usage.output_tokens?": int,
        "final?": bool,
        "history?": list,
        "history[].role": str,
        "history[].text": str,
        "verdict?": dict,
        "verdict.ok?": bool,
        "verdict.failures?": list,
    },
    "parsed.json": {
        "inputs.raw": str,
        "inputs.response": str,
        "ok": bool,
        "failures?": list,
        "checks?": list,
        "checks[].ok?": bool,
        "written?": bool,
        "output?": str,
        "output_sha256?": str,
        "front_matter?": dict,
    },
    "error.json": {"error?": str},
    "estimate.json": {
        "cost_usd?": (int, float),
        "input_tokens?": int,
        "output_tokens?": int,
        "ledger_calls_before?": int,
        "prices?": dict,
    },
    "ledger.jsonl": {
        "key": str,
        "model?": str,
        "provider?": str,
        "usage?": dict,
        "usage.input_tokens?": int,
        "usage.output_tokens?": int,
        "usage.cache_creation_input_tokens?": int,
        "usage.cache_read_input_tokens?": int,
        "cost_usd?": (int, float),
        "latency_s?": (int, float),
        "stop_reason?": str,
        "request?": str,
        "response?": str,
        "history?": list,
        "history[].role": str,
        "history[].text": str,
    },
}


def _names(types: type | tuple[type, ...]) -> str:
    kinds = types if isinstance(types, tuple) else (types,)
    words = {
        str: "a string",
        int: "a whole number",
        float: "a number",
        bool: "true or false",
        dict: "an object",
        list: "a list",
    }
    if float in kinds:
        return "a number"
    return " or ".join(words.get(k, k.__name__) for k in kinds)


def _accepts(value: Any, types: type | tuple[type, ...]) -> bool:
    kinds = types if isinstance(types, tuple) else (types,)
    if isinstance(value, bool) and bool not in kinds:
        return False  # True is an int to Python, not to a checkpoint
    return isinstance(value, kinds)


def shape_problem(data: Any, shape: Shape) -> str | None:
    """The first way ``data`` differs from ``shape``, as a sentence, or None."""
    if not isinstance(data, dict):
        return f"expected a JSON object, found {type(data).__name__}"
    for dotted, types in shape.items():
        optional = dotted.endswith("?")
        problem = _walk(data, dotted.rstrip("?").split("."), types, optional, "")
        if problem:
            return problem
    return None


def _walk(value: Any, parts: list[str], types: type | tuple[type, ...], optional: bool, seen: str) -> str | None:
    head, rest = parts[0], parts[1:]
    key, each = head.removesuffix("[]"), head.endswith("[]")
    where = f"{seen}.{key}" if seen else key
    if not isinstance(value, dict):
        return f"'{seen}' must be an object"
    if value.get(key) is None:
        # A list's own entry says whether it must be there; ``a[].b`` only checks its elements.
        return None if optional or each else f"'{where}' is missing"
    child = value[key]
    if each:
        if not isinstance(child, list):
            return f"'{where}' must be a list"
        for index, element in enumerate(child):
            problem = _walk(element, rest, types, optional, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if rest:
        return _walk(child, rest, types, optional, where)
    return None if _accepts(child, types) else f"'{where}' must be {_names(types)}, found {json.dumps(child)[:40]}"


def damaged(path: Path, message: str, line: int | None = None) -> CheckpointError:
    """The error for a damaged batch file, with how to rebuild it."""
    return CheckpointError(f"damaged batch file: {message}", path=path, line=line, hint=_rebuild_hint(path))


def _rebuild_hint(path: Path) -> str:
    from orchestrator.pipeline.store.checkpoints import STAGE_FILES

    name, folder = path.name, path.parent
    if name == "batch.json":
        return "fix it, or delete it: `orchestrate acquire PLAN --phase N` recreates it from the plan"
    if name == "ledger.jsonl":
        return "the ledger records what was spent; fix or delete that line (its cost is then not counted)"
    stage = next((s for s, names in STAGE_FILES.items() if name in names), None)
    if stage is None or not folder.name.startswith("item-"):
        return f"delete {path} (the next run writes it again)"
    return (
        f"`orchestrate clean --batch-id {folder.parent.name} --clean-stage {stage}` redoes that stage "
        f"(or delete {path})"
    )


def load_json(path: Path) -> Any:
    """``path`` decoded as JSON; a missing file's OSError passes through, other damage is a CheckpointError."""
    try:
        text = safeio.read_bytes(path, safeio.CHECKPOINT).decode("utf-8")  # a FIFO planted here never hangs a run
    except (FileNotFoundError, NotADirectoryError):
        raise
    except IsADirectoryError:
        raise damaged(path, "a folder where a file belongs") from None
    except OSError as exc:
        raise damaged(path, f"cannot read it ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise damaged(path, "not valid UTF-8") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        what = f"not valid JSON ({exc.msg.removesuffix(' at')} at column {exc.colno})"
        raise damaged(path, what, exc.lineno) from None


def checked(path: Path, data: Any, shape_name: str | None = None, line: int | None = None) -> dict[str, Any]:
    """``data`` if it has the shape of ``path``'s kind of file, else a CheckpointError."""
    shape = SHAPES.get(shape_name or path.name)
    problem = (
        shape_problem(data, shape)
        if shape is not None
        else (None if isinstance(data, dict) else f"expected a JSON object, found {type(data).__name__}")
    )
    if problem:
        raise damaged(path, problem, line)
    assert isinstance(data, dict)
    return data


_ITEM_JSON = ("raw.json", "prompt.json", "response.json", "parsed.json", "error.json")
_ITEM_TEXT = ("prompt.md", "response.md")


def check_batch_folder(folder: Path) -> None:
    """Refuse a batch whose ``estimate.json`` is damaged (items and the ledger are checked as they are read)."""
    path = folder / "estimate.json"
    if path.exists():
        checked(path, load_json(path))


def read_checkpoint_text(path: Path) -> str | None:
    """A checkpoint's text, or None when missing; CheckpointError when it is not UTF-8."""
    try:
        data = safeio.read_bytes(path, safeio.CHECKPOINT)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except IsADirectoryError:
        raise damaged(path, "a folder where a file belongs") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise damaged(path, "not valid UTF-8", data[: exc.start].count(b"\n") + 1) from None
    except OSError as exc:
        raise damaged(path, f"cannot read it ({exc.strerror or exc})") from None
