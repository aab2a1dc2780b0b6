"""Whole-document checks: the file is the document itself, not a fenced reply."""

from __future__ import annotations

from orchestrator.validators.document import Document
from orchestrator.validators.expectations import PlainDocument
from orchestrator.validators.registry import BaseValidator, CheckContext
from orchestrator.validators.response import wrapping_fence
from orchestrator.validators.results import CheckResult, failed, passed


class NotFenced(BaseValidator):
    """A model's reply pasted as-is starts with a fence line such as ```` ```markdown ````."""

    name = "document.not_fenced"
    consumes = (PlainDocument,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        opener = wrapping_fence(list(doc.lines))
        if opener is not None:
            return [
                failed(
                    self.name,
                    f"the document is wrapped in a code fence (line {opener + 1}: "
                    f"'{doc.lines[opener].strip()}'); the file must start with the document "
                    "itself: "
                    "remove the fence lines and any text outside them",
                    opener + 1,
                )
            ]
        return [passed(self.name, "the file is not wrapped in a code fence")]
