"""Registering new outputs in a YAML tracking file by appending text, not by a round trip.

A round trip (ruamel.yaml load, then dump of the whole file) costs time in
proportion to the file, on every registration: a phase of 10,000 rows spent
most of its run re-dumping its own tracking file. When every entry to
register is new (no entry in the file names its path yet) and the file's
list of entries is the last thing in it, the entries can instead be appended
as text, in the file's own indentation and line ending, leaving every byte
before them as it was. :func:`append_entries` does that, or returns ``None``
when it cannot, and the caller falls back to the round trip (an update of
an existing entry, a list that is not at the end, a flow-style list...).

The file is read with libyaml's composer (``CSafeLoader``) when available,
which keeps an alias as one shared node and never expands it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

import yaml

from orchestrator.recorder.text import dominant_ending, normal_path, split_lines

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LIST_KEYS = ("outputs", "entries")
_PATH_KEYS = ("path", "file", "output")
_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9_./ -]*")
_RESERVED = re.compile(r"(?i:y|n|yes|no|true|false|on|off|null|~)")


def append_entries(text: str, records: Sequence[dict[str, object]]) -> str | None:
    """``text`` with ``records`` appended to its entry list, or ``None`` if that cannot be done safely."""
    shape = _SEEN.get(text) or _analyse(text)
    if shape is None:
        return None
    known, dash, keys = shape
    wanted = [normal_path(str(record["path"])) for record in records]
    if any(path in known for path in wanted) or len(set(wanted)) != len(wanted):
        return None
    eol = dominant_ending(split_lines(text))
    body = text if text.endswith(("\n", "\r")) else text + eol
    lines = [line for record in records for line in _render(record, dash, keys)]
    out = body + eol.join(lines) + eol
    _SEEN.clear()  # the text just made is the next one read: remember its shape, not the file's history
    _SEEN[out] = (known | frozenset(wanted), dash, keys)
    return out


#: the shape of the last text this module produced: (paths registered, dash column, key column)
_SEEN: dict[str, tuple[frozenset[str], int, int]] = {}


def _analyse(text: str) -> tuple[frozenset[str], int, int] | None:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, RecursionError):
        return None  # the round trip reports the error in full
    if _empty_list_at_end(root, text):
        return frozenset(), 2, 4  # `outputs:` with nothing under it yet: the layout of a new file
    entries = _entry_list(root)
    if entries is None or not entries.value or entries.flow_style:
        return None
    if not _only_comments(text[entries.end_mark.index :]):
        return None
    layout = _layout(text, entries)
    if layout is None:
        return None
    known = frozenset(normal_path(path) for item in entries.value if (path := _path_of(item)) is not None)
    return known, *layout


def _empty_list_at_end(root: yaml.Node | None, text: str) -> bool:
    """``outputs:`` (or ``entries:``) with no value, as the file's last key and nothing but comments after."""
    if not isinstance(root, yaml.MappingNode) or not root.value:
        return False
    key, value = root.value[-1]
    return (
        isinstance(key, yaml.ScalarNode)
        and key.value in _LIST_KEYS
        and key.start_mark.column == 0
        and isinstance(value, yaml.ScalarNode)
        and value.tag.endswith(":null")
        and value.value in ("", "~", "null")
        and _only_comments(text[key.end_mark.index :].split("\n", 1)[1] if "\n" in text[key.end_mark.index :] else "")
    )


def _entry_list(root: yaml.Node | None) -> yaml.SequenceNode | None:
    if isinstance(root, yaml.SequenceNode):
        return root
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if isinstance(key, yaml.ScalarNode) and key.value in _LIST_KEYS and isinstance(value, yaml.SequenceNode):
                return value
    return None


def _path_of(item: yaml.Node) -> str | None:
    if not isinstance(item, yaml.MappingNode):
        return None
    for key, value in item.value:
        if isinstance(key, yaml.ScalarNode) and key.value in _PATH_KEYS and isinstance(value, yaml.ScalarNode):
            return str(value.value)
    return None


def _only_comments(rest: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("#") for line in rest.splitlines())


def _layout(text: str, entries: yaml.SequenceNode) -> tuple[int, int] | None:
    """(column of the last entry's ``-``, column of its keys), or None when it is not a plain block item."""
    last = entries.value[-1]
    if not isinstance(last, yaml.MappingNode) or last.flow_style:
        return None
    line = text.splitlines()[last.start_mark.line]
    keys = last.start_mark.column
    dash = line.rfind("-", 0, keys)
    if dash < 0 or line[dash + 1 : keys].strip() or line[:dash].strip():
        return None
    return dash, keys


def _render(record: dict[str, object], dash: int, keys: int) -> list[str]:
    lines: list[str] = []
    for key, value in record.items():
        if value is None:
            continue
        lead = " " * dash + "-" + " " * (keys - dash - 1) if not lines else " " * keys
        lines.append(f"{lead}{key}: {_scalar(value)}")
    return lines


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        digits = f"{value:.6f}".rstrip("0")
        return digits + "0" if digits.endswith(".") else digits
    text = str(value)
    if _PLAIN.fullmatch(text) and not _RESERVED.fullmatch(text) and not text.endswith(" "):
        return text
    if text.isprintable():
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar
