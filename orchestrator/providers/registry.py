"""The one provider registry, fed by the ``orchestrator.providers`` entry points.

Built-in providers (``anthropic``, ``sim``) are declared in ``pyproject.toml``
exactly as a third-party package would declare its own, so there is no list of
names here and no name-guessing factory: installing a package that declares
``[project.entry-points."orchestrator.providers"] mine = "pkg.mod:MyProvider"``
makes ``--provider mine`` work. Loading is lazy: listing names imports nothing,
and :func:`create_provider` imports only the chosen provider's module.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from orchestrator.errors import BadInputError, ConfigError
from orchestrator.providers.base import Provider

ENTRY_POINT_GROUP = "orchestrator.providers"
DEFAULT_PROVIDER = "anthropic"
#: Either variable selects the Anthropic API when no ``--provider`` is given.
KEY_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def _entry_points() -> dict[str, EntryPoint]:
    """Entry points by name; the first of duplicate names wins (with a warning)."""
    found: dict[str, EntryPoint] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in found and found[ep.name].value != ep.value:
            warnings.warn(
                f"provider {ep.name!r} is declared twice ({found[ep.name].value} and {ep.value}); "
                f"using {found[ep.name].value}",
                stacklevel=3,
            )
            continue
        found.setdefault(ep.name, ep)
    return found


def provider_names() -> list[str]:
    """Names users may pass to ``--provider``, sorted, without importing anything."""
    return sorted(_entry_points())


def _load(ep: EntryPoint) -> type[Provider]:
    try:
        target = ep.load()
    except (ImportError, AttributeError) as exc:
        raise ConfigError(
            f"provider {ep.name!r} ({ep.value}) cannot be loaded: {exc}",
            hint="reinstall the package that provides it, or pick another --provider",
        ) from exc
    if not (isinstance(target, type) and issubclass(target, Provider)):
        raise ConfigError(
            f"provider {ep.name!r} ({ep.value}) is not a Provider subclass",
            hint="an orchestrator.providers entry point must name a Provider class",
        )
    return target


def available_providers() -> dict[str, type[Provider]]:
    """Every loadable provider class by name; a broken plugin is skipped with a warning."""
    result: dict[str, type[Provider]] = {}
    for name, ep in sorted(_entry_points().items()):
        try:
            result[name] = _load(ep)
        except ConfigError as exc:
            warnings.warn(exc.message, stacklevel=2)
    return result


def _names_text() -> str:
    return ", ".join(provider_names()) or "none installed"


def _default_name(env: Mapping[str, str]) -> str:
    if any(env.get(var) for var in KEY_VARIABLES):
        return DEFAULT_PROVIDER
    raise BadInputError(
        "no provider chosen and ANTHROPIC_API_KEY is not set",
        hint=(
            "do one of:\n"
            "    - set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) to call the Anthropic API;\n"
            f"    - pick a provider with --provider NAME (available: {_names_text()});\n"
            "    - rehearse offline against the local API simulator with --provider sim."
        ),
    )


def create_provider(name: str | None, *, env: Mapping[str, str] | None = None, **options: Any) -> Provider:
    """The provider called ``name`` (``None``: Anthropic when a key is set), built from ``env``.

    Raises :class:`BadInputError` (exit 2) for an unknown name or when no
    provider can be chosen, with a hint listing what to do.
    """
    env = os.environ if env is None else env
    return _load(_entry_point(resolve_provider_name(name, env=env))).create(env, **options)


def resolve_provider_name(name: str | None, *, env: Mapping[str, str] | None = None) -> str:
    """The provider ``create_provider`` would build, checked without building it.

    Commands call this before writing anything, so that a missing key or an
    unknown name is bad input (exit 2) that leaves no trace.
    """
    env = os.environ if env is None else env
    chosen = _default_name(env) if name is None else name.strip().lower()
    _load(_entry_point(chosen)).check_env(env)
    return chosen


def _entry_point(name: str) -> EntryPoint:
    ep = _entry_points().get(name)
    if ep is None:
        raise BadInputError(
            f"unknown provider {name!r}",
            hint=f"use --provider NAME with one of: {_names_text()}",
        )
    return ep
