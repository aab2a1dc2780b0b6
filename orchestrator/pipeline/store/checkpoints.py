"""Per-item checkpoint files, their input hashes, and when each is current.

Every checkpoint names the hashes of what it was made from:

* ``raw.json``      ``input_hash`` = hash of its ``inputs`` (row cells and plan context)
* ``prompt.json``   ``inputs.raw`` = the raw hash; ``prompt_sha256`` = hash of ``prompt.md``
* ``response.json`` ``inputs.request`` = hash of prompt text + model id; ``response_sha256``
* ``parsed.json``   ``inputs.raw`` and ``inputs.response``

A checkpoint is *current* when the hashes it recorded equal those of its
inputs as they are now, so an edited row makes every later checkpoint stale,
while an edit that leaves the prompt text unchanged (say, a checklist line)
re-parses without paying for a new response.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any, TypeVar

from orchestrator.pipeline.store.batch import Batch, item_sort_key
from orchestrator.pipeline.store.records import (
    ErrorRecord,
    ParsedRecord,
    PromptRecord,
    RawRecord,
    ResponseRecord,
)
from orchestrator.pipeline.store.shapes import checked, load_json, read_checkpoint_text
from orchestrator.pipeline.store.writer import Writer
from orchestrator.recorder.atomic import atomic_write

RAW = "raw.json"
PROMPT = "prompt.md"
PROMPT_META = "prompt.json"
RESPONSE = "response.md"
RESPONSE_META = "response.json"
PARSED = "parsed.json"
ERROR = "error.json"  # PROCESS: why an item got no response (every attempt failed)

#: The files each stage writes in an item's folder (RENDER writes none there).
STAGE_FILES: dict[str, tuple[str, ...]] = {
    "acquire": (RAW,),
    "prepare": (PROMPT, PROMPT_META),
    "process": (RESPONSE, RESPONSE_META),
    "parse": (PARSED,),
    "render": (),
}


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_text(text: str) -> str:
    return sha256_bytes(text.encode("utf-8"))


def sha256_json(value: Any) -> str:
    """Hash of ``value`` as canonical JSON (sorted keys, no whitespace)."""
    canonical = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return sha256_text(canonical)


def request_key(prompt_sha256: str, model_id: str) -> str:
    """What a response answers: this prompt text sent to this model."""
    return sha256_text(f"{prompt_sha256}\0{model_id}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8"))


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))


def read_json(path: Path) -> dict[str, Any] | None:
    """The checkpoint at ``path``, or ``None`` when missing (= not current).

    A damaged one (not JSON, or a field of the wrong type) is a
    :class:`~orchestrator.errors.CheckpointError`, never silently redone:
    ``response.json`` going missing would mean paying for the response again.
    """
    try:
        data = load_json(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return checked(path, data)


def read_text(path: Path) -> str | None:
    """A checkpoint's text, or ``None`` when missing; CheckpointError when not UTF-8."""
    return read_checkpoint_text(path)


@dataclass(frozen=True)
class ItemFiles:
    """The checkpoint files of one item."""

    id: str
    dir: Path

    @property
    def raw(self) -> Path:
        return self.dir / RAW

    @property
    def prompt(self) -> Path:
        return self.dir / PROMPT

    @property
    def prompt_meta(self) -> Path:
        return self.dir / PROMPT_META

    @property
    def response(self) -> Path:
        return self.dir / RESPONSE

    @property
    def response_meta(self) -> Path:
        return self.dir / RESPONSE_META

    @property
    def parsed(self) -> Path:
        return self.dir / PARSED

    def stage_paths(self, stage: str) -> list[Path]:
        return [self.dir / name for name in STAGE_FILES[stage]]

    def load(self) -> ItemState:
        """Every checkpoint of the item, each checked against its shape and read into its record."""
        return ItemState(
            files=self,
            raw=_record(RawRecord, read_json(self.raw)),
            prompt_meta=_record(PromptRecord, read_json(self.prompt_meta)),
            prompt_text=read_text(self.prompt),
            response_meta=_record(ResponseRecord, read_json(self.response_meta)),
            response_text=read_text(self.response),
            parsed=_record(ParsedRecord, read_json(self.parsed)),
            error=_record(ErrorRecord, read_json(self.dir / ERROR)),
        )


_R = TypeVar("_R", RawRecord, PromptRecord, ResponseRecord, ParsedRecord, ErrorRecord)


def _record(kind: type[_R], data: dict[str, Any] | None) -> _R | None:
    return kind.from_json(data) if data is not None else None


Record = RawRecord | PromptRecord | ResponseRecord | ParsedRecord | ErrorRecord


@dataclass(frozen=True)
class ItemState:
    """Everything checkpointed for one item, read once: typed records and the two texts."""

    files: ItemFiles
    raw: RawRecord | None
    prompt_meta: PromptRecord | None
    prompt_text: str | None
    response_meta: ResponseRecord | None
    response_text: str | None
    parsed: ParsedRecord | None
    error: ErrorRecord | None = None

    @property
    def id(self) -> str:
        return self.files.id

    @property
    def raw_hash(self) -> str | None:
        return self.raw.input_hash if self.raw is not None else None

    @cached_property
    def prompt_sha(self) -> str | None:
        return sha256_text(self.prompt_text) if self.prompt_text is not None else None

    @cached_property
    def response_sha(self) -> str | None:
        return sha256_text(self.response_text) if self.response_text is not None else None

    def prompt_current(self) -> bool:
        """``prompt.md`` was prepared from today's ``raw.json`` and not edited since."""
        meta = self.prompt_meta
        return (
            meta is not None
            and self.raw_hash is not None
            and meta.raw_hash == self.raw_hash
            and meta.prompt_sha256 == self.prompt_sha
        )

    def request_key(self, model_id: str) -> str | None:
        sha = self.prompt_sha
        return request_key(sha, model_id) if sha is not None else None

    def response_answers(self, key: str | None) -> bool:
        """``response.md`` is intact and answers the request ``key`` (prompt text + model)."""
        meta = self.response_meta
        return (
            key is not None
            and meta is not None
            and self.response_text is not None
            and meta.request_key == key
            and meta.response_sha256 == self.response_sha
        )

    def response_current(self, model_id: str | None = None) -> bool:
        """``response.md`` answers today's ``prompt.md`` (for ``model_id``, when given)."""
        if self.response_meta is None or not self.prompt_current():
            return False
        return self.response_answers(self.request_key(model_id or self.response_meta.model_id))

    def parsed_current(self) -> bool:
        """``parsed.json`` was made from today's response and raw row."""
        parsed = self.parsed
        return (
            parsed is not None
            and self.response_current()
            and parsed.response_sha256 == self.response_sha
            and parsed.raw_hash == self.raw_hash
        )


def _shared_strings(state: ItemState) -> ItemState:
    """Intern the texts every item of a batch repeats (reference, system prompt, shared prefix).

    Decoded from JSON, each item would hold its own copy: at 10,000 rows that
    is most of a run's memory. Interned, every item points at one string.
    """
    raw, meta = state.raw, state.prompt_meta
    if raw is not None:
        raw = replace(raw, reference_text=sys.intern(raw.reference_text))
    if meta is not None:
        meta = replace(meta, system=sys.intern(meta.system), shared=sys.intern(meta.shared))
    return replace(state, raw=raw, prompt_meta=meta)


def _empty_state(files: ItemFiles) -> ItemState:
    return ItemState(files, None, None, None, None, None, None)


#: which :class:`ItemState` field holds each checkpoint file
_FIELDS = {
    RAW: "raw",
    PROMPT: "prompt_text",
    PROMPT_META: "prompt_meta",
    RESPONSE: "response_text",
    RESPONSE_META: "response_meta",
    PARSED: "parsed",
    ERROR: "error",
}


def encode_json(data: dict[str, Any]) -> bytes:
    """A checkpoint as one line of JSON (the C encoder: ``indent`` would use the pure-Python one)."""
    return (json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


@dataclass
class ItemStore:
    """Every item's checkpoints, read from disk once per command and kept current in memory.

    Stages read an item through :meth:`load` (the first call reads its files
    and checks their shapes; later calls return what is in memory) and write
    through :meth:`put`, which updates memory at once and hands the bytes to
    the writer thread when one is running (deferred: written by the
    checkpoint process, see :mod:`~orchestrator.pipeline.store.writer`), or
    writes them in place otherwise. Checkpoints are derived data: written atomically,
    never fsynced (a crash leaves each one old or new, or missing; a stale or
    missing one is redone, a response restored from the ledger).
    """

    writer: Writer | None = None
    _cache: dict[str, ItemState] = field(default_factory=dict)
    _on_disk: list[str] | None = None  # item folders found when first asked
    _created: dict[str, None] = field(default_factory=dict)  # items this command wrote first

    def item_ids(self, batch: Batch) -> list[str]:
        """The batch's items in row order: those on disk (listed once) and those written since."""
        if self._on_disk is None:
            self._on_disk = batch.item_ids()
        if not self._created:
            return list(self._on_disk)
        return sorted({*self._on_disk, *self._created}, key=item_sort_key)

    def load(self, files: ItemFiles) -> ItemState:
        key = str(files.dir)
        state = self._cache.get(key)
        if state is None:
            fresh = self._on_disk is not None and files.id not in self._on_disk
            state = self._cache[key] = _empty_state(files) if fresh else _shared_strings(files.load())
        return state

    def put(self, files: ItemFiles, name: str, value: Record | str | None) -> ItemState:
        """Write checkpoint ``name`` of an item (``None``: remove it); return the item's new state."""
        state = self.load(files)
        changes: dict[str, Any] = {_FIELDS[name]: value}
        state = self._cache[str(files.dir)] = replace(state, **changes)
        if value is not None:
            self._created[files.id] = None
        path = files.dir / name
        if value is None:
            if self.writer is not None:
                self.writer.remove(path, deferred=True)
            else:
                path.unlink(missing_ok=True)
            return state
        data = value.encode("utf-8") if isinstance(value, str) else encode_json(value.to_json())
        if self.writer is not None:
            self.writer.replace(path, data, deferred=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(path, data, fsync=False)
        return state

    @contextmanager
    def writing(self) -> Iterator[Writer]:
        """Send this store's writes to a writer thread until the block ends (then drained).

        Nested inside another ``writing()`` block (``run``: the command's own),
        leaving it drains all but the deferred checkpoints, which the outer
        block's end writes: the outputs are in place for the recorder, while
        the checkpoints need not hold up the Status cells.
        """
        if self.writer is not None:
            try:
                yield self.writer
            finally:  # as a writer's own end would: an error still leaves the outputs in place first
                self.writer.drain(deferred=False)
            return
        with Writer() as writer:
            self.writer = writer
            try:
                yield writer
            finally:
                self.writer = None

    def forget(self) -> None:
        """Drop what is in memory (after files were changed behind the store's back)."""
        self._cache.clear()
        self._on_disk = None
        self._created.clear()
