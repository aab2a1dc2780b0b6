"""Table checks: a blank line before (and, when a rule asks, after) every GFM table.

Tables are found by markdown-it exactly where GFM finds them, including a
table that interrupts a paragraph, so "no blank line before" is caught even
when the line above is prose. A table at the very start of the body (right
after the front matter) or the end of the file has nothing to separate.
"""

from __future__ import annotations

from orchestrator.validators.document import Document, is_separated
from orchestrator.validators.expectations import TableBlankAfter, TableBlankBefore
from orchestrator.validators.registry import BaseValidator, CheckContext
from orchestrator.validators.results import CheckResult, failed, passed


def _clip(text: str, limit: int = 50) -> str:
    text = text.strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class TablesBlankLineBefore(BaseValidator):
    name = "tables.blank_line_before"
    consumes = (TableBlankBefore,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        results = [
            failed(
                self.name,
                f"the table starting on line {t.first_line} has no blank line before it "
                f"(line {t.first_line - 1} is '{_clip(t.line_before or '')}'); "
                "insert an empty line above the table",
                t.first_line,
            )
            for t in doc.tables
            if not is_separated(t.line_before)
        ]
        return results or [passed(self.name, f"{len(doc.tables)} table(s), each after a blank line")]


class TablesBlankLineAfter(BaseValidator):
    name = "tables.blank_line_after"
    consumes = (TableBlankAfter,)

    def check(self, doc: Document, ctx: CheckContext) -> list[CheckResult]:
        results = [
            failed(
                self.name,
                f"the table ending on line {t.last_line} has no blank line after it "
                f"(line {t.last_line + 1} is '{_clip(t.line_after or '')}'); "
                "insert an empty line below the table",
                t.last_line + 1,
            )
            for t in doc.tables
            if not is_separated(t.line_after)
        ]
        return results or [passed(self.name, f"{len(doc.tables)} table(s), each followed by a blank line")]
