"""Simulator settings: the ``ORCHESTRATE_SIM`` variable, parsed into a :class:`SimConfig`.

The variable is a comma-separated list of ``key=value`` pairs, for example
``seed=7,latency_ms=200,rpm=600,p429=0.1``. Every key is optional; unknown keys
and bad values raise :class:`ValueError` naming the key, so a typo never
silently runs a rehearsal with the wrong faults.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

ENV_VAR = "ORCHESTRATE_SIM"

#: Keys whose values are probabilities (checked to lie in [0, 1]).
_PROBABILITIES = frozenset(
    {
        "p429",
        "p529",
        "p500",
        "pdisconnect",
        "pspend_limit",
        "pbad_enum",
        "pmissing_section",
        "pfenced",
        "ptruncated",
        "pnever_valid",
        "pbatch_error",
        "pbatch_expired",
        "pbatch_cancel_finish",
        "pstray_write",
        "phang",
    }
)


@dataclass(frozen=True)
class SimConfig:
    """Everything that shapes the simulator's behaviour. Zero means "off" for limits."""

    seed: int = 0
    latency_ms: int = 0
    jitter_ms: int = 0
    rpm: int = 0
    tpm: int = 0
    otpm: int = 0
    p429: float = 0.0
    p529: float = 0.0
    p500: float = 0.0
    pdisconnect: float = 0.0
    pspend_limit: float = 0.0
    #: once this many messages have been answered, refuse the rest: the spend limit (0 = never)
    spend_limit_after: int = 0
    pbad_enum: float = 0.0
    pmissing_section: float = 0.0
    pfenced: float = 0.0
    ptruncated: float = 0.0
    pnever_valid: float = 0.0
    pbatch_error: float = 0.0
    pbatch_expired: float = 0.0
    #: a canceled batch: chance each request not answered yet still finishes (it was already running)
    pbatch_cancel_finish: float = 0.0
    #: agent requests (Read and Write tools): chance a first draft also writes a stray file
    pstray_write: float = 0.0
    #: streaming requests: chance the stream stalls after ``message_start`` for ``hang_ms``
    phang: float = 0.0
    hang_ms: int = 600_000
    retry_after_ms: int = 1000
    key: str | None = None
    batch_delay_ms: int = 500
    cache_min_tokens: int = 1024
    cache_ttl_s: float = 300.0
    chars_per_token: float = 4.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.name in _PROBABILITIES and not 0.0 <= value <= 1.0:
                raise ValueError(f"{ENV_VAR}: {f.name}={value} must be between 0 and 1")
            if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{ENV_VAR}: {f.name}={value} must not be negative")
        if self.chars_per_token <= 0:
            raise ValueError(f"{ENV_VAR}: chars_per_token must be positive")
        if self.key == "":
            raise ValueError(f"{ENV_VAR}: key must not be empty (leave it out to accept any key)")

    @classmethod
    def from_env(cls, value: str | None = None) -> SimConfig:
        """Parse ``value``, or the ``ORCHESTRATE_SIM`` environment variable when ``None``."""
        text = os.environ.get(ENV_VAR, "") if value is None else value
        return cls(**parse_pairs(text))

    def replace(self, **changes: Any) -> SimConfig:
        """A copy with ``changes`` applied (validated like a fresh config)."""
        return dataclasses.replace(self, **changes)


#: Other names a key may be given by: name -> (field, factor applied to the value).
ALIASES: dict[str, tuple[str, float]] = {
    "batch_delay_s": ("batch_delay_ms", 1000.0),
    "pbatch_errored": ("pbatch_error", 1.0),
}


def parse_pairs(text: str) -> dict[str, Any]:
    """``"a=1,b=x"`` to typed keyword arguments for :class:`SimConfig` (aliases resolved)."""
    types = {f.name: f.type for f in dataclasses.fields(SimConfig)}
    out: dict[str, Any] = {}
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep:
            raise ValueError(f"{ENV_VAR}: expected key=value, got {item!r}")
        if name in ALIASES:
            name, factor = ALIASES[name]
            value = repr(round(float(_convert(name, "float", value)) * factor, 9))
            if str(types[name]) == "int":
                value = str(round(float(value)))
        if name not in types:
            known = ", ".join(sorted(types))
            raise ValueError(f"{ENV_VAR}: unknown key {name!r} (known keys: {known})")
        if name in out:
            raise ValueError(f"{ENV_VAR}: key {name!r} given twice")
        out[name] = _convert(name, str(types[name]), value)
    return out


def _convert(name: str, type_name: str, value: str) -> Any:
    try:
        if type_name == "int":
            return int(value)
        if type_name == "float":
            return float(value)
    except ValueError:
        kind = "an integer" if type_name == "int" else "a number"
        raise ValueError(f"{ENV_VAR}: {name}={value!r} is not {kind}") from None
    return value
