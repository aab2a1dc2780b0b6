"""The run header: who is called, where, with which models, and what goes unchecked.

Printed by every command that can spend (``run``, ``all``, ``process``)
before the estimate, so no run can be mistaken for another: a rehearsal
against the simulator says so on its first line, a real run names the API
host it will pay, and every rule the run will not machine-check is listed
with what would enable it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from orchestrator.doctor import SkippedRule
from orchestrator.pipeline.provenance import simulated
from orchestrator.pipeline.stages.selection import WorkItem
from orchestrator.providers.base import Provider

_ROWS_SHOWN = 8


def endpoint(provider: Provider) -> str:
    """Where the provider's calls go: the API host, or the local program it runs."""
    url = getattr(provider, "base_url", None)
    if isinstance(url, str) and url:
        parts = urlsplit(url)
        return parts.netloc or url
    cli = getattr(provider, "cli", None)
    if cli:
        return f"the local program {cli}"
    return "not reported by the provider"


def provider_line(name: str, why: str) -> str:
    if simulated(name):
        return (
            f"Provider: {name} ({why}): the local API SIMULATOR: a rehearsal, outputs and costs are simulated, "
            "nothing real is generated or billed"
        )
    return f"Provider: {name} ({why})"


def model_groups(work: Sequence[WorkItem]) -> list[str]:
    """``haiku (claude-haiku-5-5): 5 row(s): 2, 3, 4, 5, 6``, one line per model."""
    groups: dict[str, list[WorkItem]] = {}
    for item in work:
        groups.setdefault(item.model.id, []).append(item)
    lines = []
    for items in groups.values():
        info = items[0].model
        ids = [i.row.id for i in items]
        shown = ", ".join(ids[:_ROWS_SHOWN]) + (f" ... (+{len(ids) - _ROWS_SHOWN})" if len(ids) > _ROWS_SHOWN else "")
        lines.append(f"{info.alias} ({info.id}): {len(ids)} row(s): {shown}")
    return lines


def skipped_lines(rules: Sequence[SkippedRule], indent: str = "  ") -> list[str]:
    """Each rule not machine-checked, where it is, why, and what enables it."""
    lines: list[str] = []
    for rule in rules:
        lines.append(f"{indent}- {rule.where}: {rule.text}")
        lines.append(f"{indent}    not checked: {rule.reason}; to check it: {rule.enable}")
    return lines


@dataclass(frozen=True)
class RunHeader:
    """What the header shows; also in ``--json`` as ``provider``."""

    provider: str
    why: str
    endpoint: str
    models: list[str]
    skipped: list[SkippedRule]

    @property
    def simulated(self) -> bool:
        return simulated(self.provider)

    def text(self) -> str:
        lines = [provider_line(self.provider, self.why), f"Endpoint: {self.endpoint}"]
        if len(self.models) == 1:
            lines.append(f"Model: {self.models[0]}")
        else:
            lines += ["Models:", *(f"  {m}" for m in self.models)]
        if self.skipped:
            lines.append(f"Not machine-checked in this run ({len(self.skipped)} rule(s)):")
            lines += skipped_lines(self.skipped)
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.provider,
            "chosen_by": self.why,
            "endpoint": self.endpoint,
            "simulated": self.simulated,
            "models": self.models,
        }
