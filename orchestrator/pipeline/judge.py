"""The one judgement of a response: extract its document and validate it for its output path.

PROCESS asks it once per response (to drive repairs) and keeps the
:class:`Judgement` with the response; PARSE reuses that judgement and asks
again only for a response it finds on disk without one (a run that died
between receiving and recording). Either way a response is judged exactly
as it would have been live. In ``run`` the judging itself happens in the
judge process (:mod:`orchestrator.pipeline.judge_helper`), off the event
loop's core; its :class:`Judgement` is the same record this module makes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.dispatch.jobs import TRUNCATED_FAILURE, Verdict
from orchestrator.errors import BadInputError
from orchestrator.pipeline.store.records import CheckRecord, RawRecord
from orchestrator.recorder.atomic import real_path as real  # os.path.realpath: a symlink loop is no RuntimeError
from orchestrator.validators import CompiledPlan, extract_document
from orchestrator.validators.document import Document, parse_document
from orchestrator.validators.results import CheckResult

#: stop reasons whose text is cut off: never an output
TRUNCATING = ("max_tokens", "model_context_window_exceeded")


@dataclass(frozen=True, slots=True)
class Judgement:
    """A verdict and what ``parsed.json`` keeps of the report behind it.

    Plain data (it crosses from the judge process by pickle): the checks, and
    the document's front matter and section titles.
    """

    verdict: Verdict
    checks: tuple[CheckRecord, ...]
    front_matter: dict[str, object]
    sections: tuple[str, ...]


def judgement(verdict: Verdict, content: str, checks: tuple[CheckResult, ...], document: object) -> Judgement:
    """The record of one judgement: ``document`` is the report's parsed document, if it has one."""
    doc = document if isinstance(document, Document) else parse_document(content)
    front: dict[str, object] = {key: entry.value for key, entry in doc.front_matter.entries.items()}
    records = tuple(CheckRecord.from_result(c.name, c.ok, c.message, c.line, c.skipped, c.kind) for c in checks)
    return Judgement(verdict, records, front, tuple(h.text for h in doc.sections()))


@dataclass
class Judge:
    """Extract and validate a reply meant for one item's output path."""

    compiled: CompiledPlan
    plan_dir: Path
    _targets: dict[tuple[str, str], Path] = field(default_factory=dict, repr=False)

    def output_path(self, output_directory: str, filename: str) -> Path:
        """Where an item's output goes; refuses any path outside the Output Directory."""
        known = self._targets.get((output_directory, filename))
        if known is not None:
            return known
        out_dir = self._targets.get((output_directory, ""))
        if out_dir is None:
            out_dir = self._targets[(output_directory, "")] = real(self.plan_dir / output_directory)
        target = real(out_dir / filename)
        if not target.is_relative_to(out_dir) or target == out_dir:
            raise BadInputError(
                f"output path {target} is outside the Output Directory {out_dir}",
                hint="fix the row's Filename: a plain file name inside the folder",
            )
        self._targets[(output_directory, filename)] = target
        return target

    def target(self, raw: RawRecord) -> Path:
        """The output path of an item, from its ``raw.json``."""
        return self.output_path(raw.output_directory, raw.filename)

    def judge(self, target: Path, text: str, stop_reason: str | None) -> Judgement:
        if stop_reason in TRUNCATING:
            return judgement(Verdict(False, None, [TRUNCATED_FAILURE]), text, (), None)
        extracted = extract_document(text)
        report = self.compiled.validate_text(extracted.content, path=target)
        environment = [f.render() for f in report.environment_failures]
        verdict = Verdict(report.ok, extracted.content, report.failure_messages(), list(extracted.notes), environment)
        return judgement(verdict, extracted.content, tuple(report.checks), report.document)
