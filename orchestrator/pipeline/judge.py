"""The one judgement of a response: extract its document and validate it for its output path.

PROCESS asks it once per response (to drive repairs) and keeps the
:class:`Judgement` with the response; PARSE reuses that judgement and asks
again only for a response it finds on disk without one (a run that died
between receiving and recording). Either way a response is judged exactly
as it would have been live.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from orchestrator.dispatch.jobs import TRUNCATED_FAILURE, Verdict
from orchestrator.errors import BadInputError
from orchestrator.pipeline.store.records import RawRecord
from orchestrator.recorder.atomic import real_path as real  # os.path.realpath: a symlink loop is no RuntimeError
from orchestrator.validators import CompiledPlan, FileReport, extract_document
from orchestrator.validators.document import Document, parse_document

#: stop reasons whose text is cut off: never an output
TRUNCATING = ("max_tokens", "model_context_window_exceeded")


@dataclass
class Judgement:
    """A verdict and the report behind it."""

    verdict: Verdict
    report: FileReport | None
    content: str

    def summary(self) -> tuple[dict[str, object], tuple[str, ...]]:
        """Front matter and section titles of the document (for ``parsed.json`` and the report)."""
        doc = self.report.document if self.report is not None else None
        if not isinstance(doc, Document):
            doc = parse_document(self.content)
        front: dict[str, object] = {key: entry.value for key, entry in doc.front_matter.entries.items()}
        return front, tuple(h.text for h in doc.sections())


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
            return Judgement(Verdict(False, None, [TRUNCATED_FAILURE]), None, text)
        extracted = extract_document(text)
        report = self.compiled.validate_text(extracted.content, path=target)
        environment = [f.render() for f in report.environment_failures]
        verdict = Verdict(report.ok, extracted.content, report.failure_messages(), list(extracted.notes), environment)
        return Judgement(verdict, report, extracted.content)
