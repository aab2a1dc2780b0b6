"""Where new rows come from: arguments, a text file, CSV, JSONL or standard input.

Every source yields :class:`RowSpec` records, each naming where it came from
(``titles.csv:4``) so that a refusal can say where to look. CSV and JSONL
columns are mapped by name, case-insensitively: ``title`` (required),
``filename`` and ``model`` (optional); any other column is an extra table
column, passed to prompts as a row detail. ``#``/``id`` and ``status`` are
refused: ids continue the plan's numbering and new rows are always pending.

Text is made safe for one table cell here: line breaks, tabs and other
control characters become spaces. Pipes are escaped later, by the writer.
"""

from __future__ import annotations

import csv
import io
import json
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from orchestrator.errors import BadInputError, Problem

FORMATS = ("auto", "text", "csv", "tsv", "jsonl")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_CORE = ("title", "filename", "model")
_REFUSED = {"#": "ids continue the plan's numbering", "id": "ids continue the plan's numbering",
            "no.": "ids continue the plan's numbering", "no": "ids continue the plan's numbering",
            "status": "new rows are always pending"}


@dataclass(frozen=True)
class RowSpec:
    """One row to add, as a source gave it (filename and model may be left to ``add``)."""

    title: str
    origin: str
    filename: str | None = None
    model: str | None = None
    extras: tuple[tuple[str, str], ...] = ()


def rows_refused(problems: list[Problem]) -> BadInputError:
    """Every problem with the rows to add, in one error (exit 2: nothing is written)."""
    lines = "\n".join(p.render() for p in problems)
    head = "" if len(problems) == 1 else f"{len(problems)} problems in the rows to add (nothing was written):\n"
    return BadInputError(head + lines)


def cell_text(value: str) -> str:
    """``value`` as one line of cell text: control characters and line breaks become spaces."""
    chars = (" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in value)
    return "".join(chars).strip()


def from_titles(titles: Iterable[str], origin: str = "argument") -> list[RowSpec]:
    return [RowSpec(cell_text(t), f"{origin} {n}") for n, t in enumerate(titles, 1)]


def from_text(text: str, name: str) -> list[RowSpec]:
    """One title a line; blank lines are skipped."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return [RowSpec(cell_text(line), f"{name}:{n}") for n, line in enumerate(lines, 1) if line.strip()]


def read_source(path: Path, fmt: str = "auto") -> list[RowSpec]:
    """Rows from the file at ``path`` in ``fmt`` (``auto``: by its suffix, else text)."""
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise BadInputError("row file not found", path=path, hint="check the path given to --from") from None
    except IsADirectoryError:
        raise BadInputError("is a folder, not a row file", path=path, hint="pass a .txt, .csv or .jsonl file") from None
    except OSError as exc:
        raise BadInputError(f"cannot read row file: {exc.strerror or exc}", path=path,
                            hint="check the file's permissions") from None
    except UnicodeDecodeError as exc:
        raise BadInputError("row file is not valid UTF-8", path=path, hint="save it as UTF-8") from exc
    chosen = _SUFFIXES.get(path.suffix.lower(), "text") if fmt == "auto" else fmt
    return parse_source(text, str(path), chosen)


def parse_source(text: str, name: str, fmt: str) -> list[RowSpec]:
    """Rows from ``text`` in ``fmt``; ``auto`` sniffs JSONL (a first line ``{``), else text."""
    if fmt == "auto":
        first = next((line.strip() for line in text.splitlines() if line.strip()), "")
        fmt = "jsonl" if first.startswith("{") else "text"
    if fmt == "jsonl":
        return _jsonl(text, name)
    if fmt in ("csv", "tsv"):
        return _csv(text, name, "\t" if fmt == "tsv" else ",")
    return from_text(text, name)


def _header_keys(headers: list[str], name: str) -> list[str]:
    problems: list[Problem] = []
    keys = [" ".join(h.split()).casefold() for h in headers]
    for header, key in zip(headers, keys, strict=True):
        if not key:
            problems.append(Problem(name, 1, "a column has no name", "name every column in the header line"))
        elif key in _REFUSED:
            problems.append(Problem(name, 1, f"column '{header}' cannot be given: {_REFUSED[key]}",
                                    f"remove the '{header}' column"))
        elif keys.count(key) > 1:
            problems.append(Problem(name, 1, f"column '{header}' appears twice", "keep one of them"))
    if "title" not in keys:
        problems.append(Problem(name, 1, "no 'title' column", "the header must name a title column"))
    if problems:
        raise rows_refused(_unique(problems))
    return keys


def _unique(problems: list[Problem]) -> list[Problem]:
    seen: dict[str, Problem] = {}
    for problem in problems:
        seen.setdefault(problem.message, problem)
    return list(seen.values())


def _spec(values: dict[str, tuple[str, str]], origin: str) -> RowSpec:
    """A row from ``{key: (header as written, value)}``."""
    extras = tuple((header, cell_text(v)) for key, (header, v) in values.items() if key not in _CORE)
    given = {key: cell_text(values[key][1]) for key in _CORE if key in values}
    return RowSpec(given.get("title", ""), origin, given.get("filename") or None, given.get("model") or None, extras)


def _csv(text: str, name: str, delimiter: str) -> list[RowSpec]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = _csv_rows(reader, name)
    header = next(rows, None)
    if header is None:
        raise BadInputError("the file is empty", path=name, hint="the first line names the columns: title,...")
    headers = [cell_text(h) for h in header[1]]  # a header becomes a table cell too
    keys = _header_keys(headers, name)
    specs: list[RowSpec] = []
    for line, cells in rows:
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > len(keys):
            raise BadInputError(f"row has {len(cells)} fields but the header names {len(keys)}", path=name,
                                line=line, hint="quote a field that contains the delimiter")
        cells += [""] * (len(keys) - len(cells))
        specs.append(_spec({k: (h, c) for k, h, c in zip(keys, headers, cells, strict=True)}, f"{name}:{line}"))
    return specs


def _csv_rows(reader: Any, name: str) -> Iterator[tuple[int, list[str]]]:
    """Each record with the line it starts on."""
    previous = 0
    while True:
        try:
            cells: list[str] = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise BadInputError(f"not valid CSV: {exc}", path=name, line=previous + 1,
                                hint="check the quoting") from None
        yield previous + 1, cells
        previous = int(reader.line_num)


def _jsonl(text: str, name: str) -> list[RowSpec]:
    specs: list[RowSpec] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{name}:{number}"
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise BadInputError(f"not a JSON object: {exc.msg}", path=name, line=number,
                                hint='write one object a line, e.g. {"title": "Quorum"}') from None
        if not isinstance(record, dict):
            raise BadInputError("line is not a JSON object", path=name, line=number,
                                hint='write one object a line, e.g. {"title": "Quorum"}')
        names = [str(k) for k in record]
        headers = [cell_text(k) for k in names]  # a key becomes a table header cell
        keys = _header_keys(headers, where)
        values = {k: (h, _scalar(record[n], where, h)) for k, h, n in zip(keys, headers, names, strict=True)}
        specs.append(_spec(values, where))
    return specs


def _scalar(value: object, where: str, key: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise BadInputError(f"'{key}' holds a {type(value).__name__}, not text", path=where,
                        hint="a table cell holds one value: a string or a number")

