"""A YAML tracking file, edited with ruamel.yaml round-trip (pure text in, text out).

Round-trip loading keeps the user's comments, key order and quoting; the
dumper is set to the file's own sequence indentation (guessed), a wide line
width (so long titles are not folded), the file's line ending and its ``---``.
Layouts understood: a top-level list of entries, or a mapping whose
``outputs`` (or ``entries``) key holds that list; a mapping without one gets an
``outputs`` key. Only the fields the tool writes are changed in an entry;
keys the user added to it stay.

The file is bounded before it gets here (the recorder reads it through
:mod:`orchestrator.safeio` with the tracking file's size limit), and the
round-trip loader keeps a YAML alias as one shared node that it dumps back as
an alias, so an alias bomb costs no more than its own text.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.util import load_yaml_guess_indent

from orchestrator.errors import RecordError
from orchestrator.recorder.text import dominant_ending, normal_path, split_lines
from orchestrator.recorder.tracking_append import append_entries

NEW_FILE = (
    "# Outputs registered by `orchestrate`: one entry per output file.\n"
    "# Re-registering a file updates its entry.\n"
    "outputs:\n"
)
LIST_KEYS = ("outputs", "entries")
PATH_KEYS = ("path", "file", "output")


def register(text: str | None, records: Sequence[dict[str, object]], where: Path) -> str:
    """``text`` with each record added, or updated in place when its path is already there.

    A CRLF file is edited as LF and converted back (ruamel.yaml keeps a stray
    ``\r`` in comments otherwise).
    """
    source = text if text is not None and text.strip() else NEW_FILE
    appended = append_entries(source, records)  # only new entries, list at the end: no round trip
    if appended is not None:
        return appended
    eol = dominant_ending(split_lines(source))
    source = source.replace("\r\n", "\n")
    yaml = _yaml()
    data = _load(yaml, source, where)
    if data is None:  # comments only
        source = source + ("" if source.endswith("\n") else "\n") + "outputs:\n"
        data = _load(yaml, source, where)
    entries = _entry_list(data, where)
    index = _index(entries)
    for record in records:
        _upsert(entries, index, record)
    yaml.explicit_start = _has_explicit_start(source)
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue().replace("\n", eol)


def _yaml() -> YAML:
    yaml = YAML()
    yaml.preserve_quotes = True
    yaml.width = 4096
    return yaml


def _load(yaml: YAML, source: str, where: Path) -> Any:
    try:
        data, indent, dash = load_yaml_guess_indent(source, yaml=yaml)
    except RecursionError:
        raise RecordError(
            "the tracking file nests lists or mappings deeper than the YAML parser can follow",
            path=where,
            hint="a tracking file is a flat list of entries: fix the file (or move it away), then "
            "`orchestrate validate PLAN --record` registers the outputs already written",
        ) from None
    except YAMLError as exc:
        raise RecordError(
            f"the tracking file is not valid YAML: {exc}".splitlines()[0],
            path=where,
            hint="fix the file (or move it away), then `orchestrate validate PLAN --record` "
            "registers the outputs already written",
        ) from None
    offset = 2 if dash is None else dash
    yaml.indent(mapping=2, sequence=max(indent or offset + 2, offset + 2), offset=offset)
    return data


def _entry_list(data: Any, where: Path) -> CommentedSeq:
    if isinstance(data, CommentedSeq):
        return data
    if not isinstance(data, CommentedMap):
        raise RecordError(
            "the tracking file is neither a list of outputs nor a mapping",
            path=where,
            hint="give it an `outputs:` list, or point the plan at another file",
        )
    for key in LIST_KEYS:
        found = data.get(key)
        if isinstance(found, CommentedSeq):
            return found
    if data.get("outputs") is not None:
        raise RecordError("the tracking file's `outputs` is not a list", path=where)
    entries = CommentedSeq()
    data["outputs"] = entries
    return entries


def _index(entries: CommentedSeq) -> dict[str, CommentedMap]:
    """Each entry by its path as :func:`same_path` compares paths (one pass, not one per record)."""
    found: dict[str, CommentedMap] = {}
    for item in entries:
        if isinstance(item, CommentedMap):
            for key in PATH_KEYS:
                value = item.get(key)
                if isinstance(value, str) and value.strip():
                    found.setdefault(normal_path(value), item)
    return found


def _upsert(entries: CommentedSeq, index: dict[str, CommentedMap], record: dict[str, object]) -> None:
    wanted = normal_path(str(record["path"]))
    item = index.get(wanted)
    if item is not None:
        _update(item, record)
        return
    entry = CommentedMap((k, v) for k, v in record.items() if v is not None)
    entries.append(entry)
    index[wanted] = entry


def _update(item: CommentedMap, record: dict[str, object]) -> None:
    """Set the record's fields in ``item``; a new key goes after the one before it in the record."""
    position = 0
    for key, value in record.items():
        if key == "path" and "path" not in item:
            continue  # the user's own path key (``file:``) already names it
        if value is None:
            item.pop(key, None)
        elif key in item:
            item[key] = value
        else:
            item.insert(position, key, value)
        if key in item:
            position = list(item).index(key) + 1


def _has_explicit_start(source: str) -> bool:
    for line in source.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            return stripped.startswith("---")
    return False
