"""The model table: aliases, model ids, prices and optional rate limits.

The bundled table (``orchestrator/data/models.toml``) is overlaid, entry by
entry and key by key, by each of these that exists:

1. ``$XDG_CONFIG_HOME/orchestrate/models.toml`` (default ``~/.config/...``);
2. ``orchestrate.toml`` in the plan's folder (its ``[models.*]`` tables);
3. the file named by ``$ORCHESTRATE_MODELS``.

Later files win.

A plan may name a model by alias (``haiku``) or by full id
(``claude-haiku-5-5``); both resolve to the same :class:`ModelInfo`.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from orchestrator.errors import ConfigError, InputFileError, ModelNotFoundError
from orchestrator.safeio import CONFIG, read_bytes

_PRICE_KEYS = ("input", "output", "cache_write", "cache_write_1h", "cache_read")
#: The Messages API's standard context window, for a model whose table entry names none.
DEFAULT_CONTEXT_TOKENS = 200_000


@dataclass(frozen=True)
class Usage:
    """Token counts of one call, as the Messages API reports them."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_creation_input_tokens + other.cache_creation_input_tokens,
            self.cache_read_input_tokens + other.cache_read_input_tokens,
        )

    @property
    def total_input(self) -> int:
        return self.input_tokens + self.cache_creation_input_tokens + self.cache_read_input_tokens

    @property
    def total(self) -> int:
        return self.total_input + self.output_tokens

    def as_dict(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Usage:
        return cls(*(int(data.get(k) or 0) for k in cls().as_dict()))


@dataclass(frozen=True)
class ModelInfo:
    """One model's id and prices (USD per million tokens)."""

    alias: str
    id: str
    input: float
    output: float
    cache_write: float
    cache_write_1h: float
    cache_read: float
    batch_discount: float = 0.5
    max_output_tokens: int = 8192
    #: the context window: input tokens plus the output must fit in it (see orchestrator.request_size)
    context_tokens: int = DEFAULT_CONTEXT_TOKENS
    rpm: int | None = None  # client-side request limit, if configured
    input_tpm: int | None = None  # client-side input-token limit, if configured

    def cost(self, usage: Usage, *, batch: bool = False) -> float:
        """Dollar cost of ``usage`` at this model's prices (5-minute cache writes)."""
        dollars = (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        ) / 1_000_000
        return dollars * self.batch_discount if batch else dollars


@dataclass(frozen=True)
class ModelTable:
    models: dict[str, ModelInfo]  # by alias
    prices_as_of: str
    prices_source: str
    sources: tuple[str, ...]  # files the table was read from, bundled first

    def get(self, name: str) -> ModelInfo | None:
        """A model by alias or full id (case-insensitive), or ``None``."""
        key = name.strip().lower()
        if key in self.models:
            return self.models[key]
        for info in self.models.values():
            if info.id.lower() == key:
                return info
        return None

    def resolve(self, name: str) -> ModelInfo:
        info = self.get(name)
        if info is None:
            known = ", ".join(sorted(self.models))
            raise ModelNotFoundError(
                f"unknown model {name!r}",
                hint=f"use one of {known}, or add it under [models.{name}] in orchestrate.toml",
            )
        return info


def _bundled() -> tuple[dict[str, Any], str]:
    ref = resources.files("orchestrator").joinpath("data/models.toml")
    return tomllib.loads(ref.read_text(encoding="utf-8")), "orchestrator/data/models.toml"


def _user_files(plan_dir: Path | None) -> list[Path]:
    """Override files in overlay order: the later ones win.

    The two conventional places are optional; a file named by
    ``$ORCHESTRATE_MODELS`` must exist (a typo there would otherwise be
    silently ignored and the bundled prices used).
    """
    config_home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    candidates = [config_home / "orchestrate" / "models.toml"]
    if plan_dir is not None:
        candidates.append(plan_dir / "orchestrate.toml")
    found = [path for path in candidates if path.is_file()]
    env = os.environ.get("ORCHESTRATE_MODELS")
    if env:
        named = Path(env)
        if not named.is_file():
            what = "is a folder" if named.is_dir() else "is not a regular file" if named.exists() else "does not exist"
            raise ConfigError(
                f"$ORCHESTRATE_MODELS names {named}, which {what}",
                path=named,
                hint="point ORCHESTRATE_MODELS at a TOML file of [models.NAME] tables, or unset it",
            )
        found.append(named)
    return found


def _positive(value: Any, key: str) -> int:
    number = int(value)
    if number <= 0 or isinstance(value, bool):
        raise ValueError(f"{key} must be a positive whole number of tokens, not {value!r}")
    return number


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(read_bytes(path, CONFIG).decode("utf-8"))
    except InputFileError as exc:
        raise ConfigError(exc.message, path=path, hint=exc.hint) from None
    except tomllib.TOMLDecodeError as exc:
        at = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        raise ConfigError(f"invalid TOML: {exc}", path=path, line=int(at.group(1)) if at else None,
                          hint="fix the file's syntax (https://toml.io), or move the file away") from None
    except UnicodeDecodeError:
        raise ConfigError("model table is not valid UTF-8", path=path, hint="save the file as UTF-8") from None
    except OSError as exc:
        raise ConfigError(f"cannot read model table: {exc.strerror}", path=path,
                          hint="check the file's permissions, or move it out of the way") from None


def _overlay(base: dict[str, Any], extra: dict[str, Any], origin: str, origins: dict[str, str]) -> None:
    """Lay ``extra`` (read from ``origin``) over ``base``; ``origins`` records which file last set each model."""
    models = extra.get("models", {})
    if not isinstance(models, dict):
        raise ConfigError(
            "`models` must be a table of [models.NAME] tables",
            path=origin,
            hint='write each model as its own table, e.g. [models.haiku] with input = 0.10 and output = 0.50',
        )
    for name, values in models.items():
        if not isinstance(values, dict):
            raise ConfigError(
                f"model {name!r} must be a table, not {type(values).__name__}",
                path=origin,
                hint=f"write it as [models.{name}] followed by keys such as input = 0.10 and output = 0.50",
            )
        base.setdefault("models", {}).setdefault(name.lower(), {}).update(values)
        origins[name.lower()] = origin
    prices = extra.get("prices", {})
    if not isinstance(prices, dict):
        raise ConfigError("`prices` must be a table", path=origin,
                          hint='write it as [prices] with as_of = "YYYY-MM-DD" and source = "..."')
    base.setdefault("prices", {}).update(prices)


def _model(alias: str, values: dict[str, Any], origin: str) -> ModelInfo:
    try:
        prices = {k: float(values[k]) for k in ("input", "output")}
        defaults = {"cache_write": prices["input"] * 1.25, "cache_write_1h": prices["input"] * 2,
                    "cache_read": prices["input"] * 0.1}
        for key in _PRICE_KEYS[2:]:
            prices[key] = float(values.get(key, defaults[key]))
        return ModelInfo(
            alias=alias,
            id=str(values.get("id", alias)),
            batch_discount=float(values.get("batch_discount", 0.5)),
            max_output_tokens=int(values.get("max_output_tokens", 8192)),
            context_tokens=_positive(values.get("context_tokens", DEFAULT_CONTEXT_TOKENS), "context_tokens"),
            rpm=int(values["rpm"]) if "rpm" in values else None,
            input_tpm=int(values["input_tpm"]) if "input_tpm" in values else None,
            **prices,
        )
    except (KeyError, TypeError, ValueError) as exc:
        detail = f"no {exc.args[0]!r} price" if isinstance(exc, KeyError) else str(exc)
        raise ConfigError(
            f"model {alias!r} is incomplete or malformed ({detail})",
            path=origin,
            hint="each [models.NAME] needs numeric input and output prices per million tokens",
        ) from None


def load_model_table(plan_dir: Path | None = None) -> ModelTable:
    """The bundled table overlaid by the user's files (see module docstring)."""
    data, origin = _bundled()
    sources = [origin]
    origins = {name: origin for name in data.get("models", {})}
    for path in _user_files(plan_dir):
        _overlay(data, _read_toml(path), str(path), origins)
        sources.append(str(path))
    models = {name: _model(name, values, origins[name]) for name, values in data.get("models", {}).items()}
    prices = data.get("prices", {})
    return ModelTable(models, str(prices.get("as_of", "unknown")), str(prices.get("source", "unknown")),
                      tuple(sources))
