"""The typed checkpoints of one item: what each stage writes, as records instead of dicts.

Each record is read from its JSON file once (its shape checked first by
:mod:`orchestrator.pipeline.store.shapes`, so a damaged file is refused with
its path and line before it gets here) and written back through
:meth:`to_json`, which gives exactly the keys the file has always had: a
person, a test or an older version of the tool reads the same JSON.

``raw.json``      :class:`RawRecord`       ACQUIRE (the row and the plan context its prompt needs)
``prompt.json``   :class:`PromptRecord`    PREPARE (the request's parts and hashes; ``prompt.md`` is its text)
``response.json`` :class:`ResponseRecord`  PROCESS (usage, stop reason, conversation, verdict)
``parsed.json``   :class:`ParsedRecord`    PARSE (every check's result, the output written)
``error.json``    :class:`ErrorRecord`     PROCESS, when no response came back at all
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from orchestrator.models import Usage
from orchestrator.plan.model import item_key


@dataclass(frozen=True, slots=True)
class RowKey:
    """A row's identity in a batch: its phase, ``#`` and Filename (the item folder follows from the id)."""

    phase: int
    id: str
    filename: str

    @property
    def item(self) -> str:
        return item_key(self.id)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """``raw.json``: the row's cells and the plan context, hashed as one input."""

    item: str
    input_hash: str
    phase: int
    row_id: str
    title: str
    filename: str
    model: str
    cells: tuple[tuple[str, str], ...]
    format_reference: str
    output_directory: str
    content_rules: tuple[str, ...]
    checklist: tuple[str, ...]
    reference_sha256: str
    reference_text: str
    acquired_at: str = ""

    @property
    def key(self) -> RowKey:
        return RowKey(self.phase, self.row_id, self.filename)

    def inputs(self) -> dict[str, Any]:
        """What the row's prompt and checks depend on, as hashed into :attr:`input_hash`."""
        return {
            "phase": self.phase,
            "row": {
                "id": self.row_id,
                "title": self.title,
                "filename": self.filename,
                "model": self.model,
                "cells": dict(self.cells),
            },
            "plan": {
                "format_reference": self.format_reference,
                "output_directory": self.output_directory,
                "content_rules": list(self.content_rules),
                "checklist": list(self.checklist),
            },
            "reference": {"sha256": self.reference_sha256, "text": self.reference_text},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "stage": "acquire",
            "input_hash": self.input_hash,
            "inputs": self.inputs(),
            "acquired_at": self.acquired_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RawRecord:
        inputs = data["inputs"]
        row, plan, reference = inputs["row"], inputs["plan"], inputs.get("reference") or {}
        return cls(
            item=str(data.get("item", "")),
            input_hash=str(data["input_hash"]),
            phase=int(inputs["phase"]),
            row_id=str(row["id"]),
            title=str(row["title"]),
            filename=str(row["filename"]),
            model=str(row["model"]),
            cells=tuple((str(k), str(v)) for k, v in dict(row["cells"]).items()),
            format_reference=str(plan["format_reference"]),
            output_directory=str(plan["output_directory"]),
            content_rules=tuple(str(r) for r in plan["content_rules"]),
            checklist=tuple(str(c) for c in plan["checklist"]),
            reference_sha256=str(reference.get("sha256", "")),
            reference_text=str(reference["text"]),
            acquired_at=str(data.get("acquired_at", "")),
        )


@dataclass(frozen=True, slots=True)
class PromptRecord:
    """``prompt.json``: the parts of ``prompt.md`` and what they were made from."""

    item: str
    raw_hash: str
    prompt_sha256: str
    row_id: str
    title: str
    model: str
    system: str
    shared: str
    row: str
    prepared_at: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "stage": "prepare",
            "inputs": {"raw": self.raw_hash},
            "prompt_sha256": self.prompt_sha256,
            "row_id": self.row_id,
            "title": self.title,
            "model": self.model,
            "system": self.system,
            "shared": self.shared,
            "row": self.row,
            "prepared_at": self.prepared_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PromptRecord:
        return cls(
            item=str(data.get("item", "")),
            raw_hash=str(data["inputs"]["raw"]),
            prompt_sha256=str(data["prompt_sha256"]),
            row_id=str(data.get("row_id", "")),
            title=str(data["title"]),
            model=str(data.get("model") or ""),
            system=str(data["system"]),
            shared=str(data["shared"]),
            row=str(data["row"]),
            prepared_at=str(data.get("prepared_at", "")),
        )


@dataclass(frozen=True, slots=True)
class VerdictRecord:
    """A response's judgement: valid or not, and the validator's messages (the repair material)."""

    ok: bool
    failures: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"ok": self.ok, "failures": list(self.failures), "notes": list(self.notes)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerdictRecord:
        return cls(bool(data.get("ok")), _strings(data.get("failures")), _strings(data.get("notes")))


@dataclass(frozen=True, slots=True)
class OutcomeRecord:
    """How an item's job ended in PROCESS (also all of ``error.json`` when no response came back)."""

    ok: bool
    calls: int
    repairs: int
    error: str | None
    failures: tuple[str, ...]
    finished_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "calls": self.calls,
            "repairs": self.repairs,
            "error": self.error,
            "failures": list(self.failures),
            "finished_at": self.finished_at,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> OutcomeRecord:
        error = data.get("error")
        return cls(
            ok=bool(data.get("ok")),
            calls=int(data.get("calls") or 0),
            repairs=int(data.get("repairs") or 0),
            error=str(error) if error is not None else None,
            failures=_strings(data.get("failures")),
            finished_at=str(data.get("finished_at", "")),
        )


@dataclass(frozen=True, slots=True)
class ResponseRecord:
    """``response.json``: the response's usage and conversation (its text is ``response.md``)."""

    item: str
    request_key: str
    model_id: str
    model: str
    response_sha256: str
    stop_reason: str | None
    usage: Usage
    latency_s: float
    request_id: str | None
    attempt: int
    history: tuple[tuple[str, str], ...]  # (role, text) turns after the row's first message
    verdict: VerdictRecord | None  # None: received but never judged (a run died in between)
    final: bool
    received_at: str
    outcome: OutcomeRecord | None = None
    provider: str | None = None
    restored_from: str | None = None  # "ledger.jsonl" when rebuilt from the ledger after a crash

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "item": self.item,
            "stage": "process",
            "inputs": {"request": self.request_key},
            "model_id": self.model_id,
            "model": self.model,
            "response_sha256": self.response_sha256,
            "stop_reason": self.stop_reason,
            "usage": self.usage.as_dict(),
            "latency_s": round(self.latency_s, 4),
            "request_id": self.request_id,
            "attempt": self.attempt,
            "history": [{"role": role, "text": text} for role, text in self.history],
            "verdict": self.verdict.to_json() if self.verdict else None,
            "final": self.final,
            "received_at": self.received_at,
        }
        if self.outcome is not None:
            data["outcome"] = self.outcome.to_json()
        if self.provider is not None:
            data["provider"] = self.provider
        if self.restored_from is not None:
            data["restored_from"] = self.restored_from
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ResponseRecord:
        verdict, outcome = data.get("verdict"), data.get("outcome")
        return cls(
            item=str(data.get("item", "")),
            request_key=str(data["inputs"]["request"]),
            model_id=str(data["model_id"]),
            model=str(data.get("model") or ""),
            response_sha256=str(data["response_sha256"]),
            stop_reason=str(data["stop_reason"]) if data.get("stop_reason") else None,
            usage=Usage.from_dict(data.get("usage") or {}),
            latency_s=float(data.get("latency_s") or 0.0),
            request_id=str(data["request_id"]) if data.get("request_id") else None,
            attempt=int(data.get("attempt") or 0),
            history=tuple((str(t["role"]), str(t["text"])) for t in data.get("history") or []),
            verdict=VerdictRecord.from_json(verdict) if isinstance(verdict, dict) else None,
            final=bool(data.get("final")),
            received_at=str(data.get("received_at", "")),
            outcome=OutcomeRecord.from_json(outcome) if isinstance(outcome, dict) else None,
            provider=str(data["provider"]) if data.get("provider") else None,
            restored_from=str(data["restored_from"]) if data.get("restored_from") else None,
        )


@dataclass(frozen=True, slots=True)
class CheckRecord:
    """One check's result on an output, as ``parsed.json`` keeps it."""

    name: str
    ok: bool
    message: str = ""
    line: int | None = None
    skipped: bool = False
    kind: str = "output"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "line": self.line,
            "message": self.message,
            "skipped": self.skipped,
            "kind": self.kind,
        }

    @classmethod
    def from_result(cls, name: str, ok: bool, message: str, line: int | None, skipped: bool, kind: str) -> CheckRecord:
        """One validator result, its texts interned: most are the same on every row of a batch."""
        return cls(sys.intern(name), ok, sys.intern(message), line, skipped, sys.intern(kind))

    def interned(self) -> CheckRecord:
        """This record with its texts interned (as unpickled from the judge process, they are copies)."""
        return CheckRecord.from_result(self.name, self.ok, self.message, self.line, self.skipped, self.kind)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CheckRecord:
        line = data.get("line")
        return cls(  # interned: most names and messages are the same on every row of a batch
            name=sys.intern(str(data.get("name", ""))),
            ok=bool(data.get("ok")),
            message=sys.intern(str(data.get("message") or "")),
            line=int(line) if isinstance(line, int) else None,
            skipped=bool(data.get("skipped")),
            kind=sys.intern(str(data.get("kind") or "output")),
        )


@dataclass(frozen=True, slots=True)
class ParsedRecord:
    """``parsed.json``: the judgement of the response, the checks behind it, and the output written."""

    item: str
    raw_hash: str
    response_sha256: str
    row_id: str
    title: str
    ok: bool
    failures: tuple[str, ...]
    notes: tuple[str, ...]
    checks: tuple[CheckRecord, ...]
    output: str
    output_sha256: str | None
    written: bool
    parsed_at: str
    #: the document's front matter as read (values as YAML typed them) and its section titles
    front_matter: dict[str, object] = field(default_factory=dict)
    sections: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "item": self.item,
            "stage": "parse",
            "inputs": {"raw": self.raw_hash, "response": self.response_sha256},
            "row_id": self.row_id,
            "title": self.title,
            "ok": self.ok,
            "failures": list(self.failures),
            "notes": list(self.notes),
            "checks": [c.to_json() for c in self.checks],
            "output": self.output,
            "output_sha256": self.output_sha256,
            "written": self.written,
            "parsed_at": self.parsed_at,
            "front_matter": dict(self.front_matter),
            "sections": list(self.sections),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ParsedRecord:
        return cls(
            item=str(data.get("item", "")),
            raw_hash=str(data["inputs"]["raw"]),
            response_sha256=str(data["inputs"]["response"]),
            row_id=str(data.get("row_id", "")),
            title=str(data.get("title", "")),
            ok=bool(data["ok"]),
            failures=_strings(data.get("failures")),
            notes=_strings(data.get("notes")),
            checks=tuple(CheckRecord.from_json(c) for c in data.get("checks") or [] if isinstance(c, dict)),
            output=str(data.get("output") or ""),
            output_sha256=str(data["output_sha256"]) if data.get("output_sha256") else None,
            written=bool(data.get("written")),
            parsed_at=str(data.get("parsed_at", "")),
            front_matter=dict(data.get("front_matter") or {}),
            sections=_strings(data.get("sections")),
        )


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    """``error.json``: an item whose every attempt failed (no response to keep)."""

    item: str
    outcome: OutcomeRecord

    def to_json(self) -> dict[str, Any]:
        return {"item": self.item, **self.outcome.to_json()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ErrorRecord:
        return cls(str(data.get("item", "")), OutcomeRecord.from_json(data))


def _strings(value: object) -> tuple[str, ...]:
    return tuple(str(v) for v in value) if isinstance(value, list | tuple) else ()
