"""Isolation shared by every test: no user config, no real key, no stray simulator settings."""

from __future__ import annotations

from pathlib import Path

import pytest

_ISOLATED_ENV = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "ORCHESTRATE_MODELS",
    "ORCHESTRATE_SIM",
    "ORCHESTRATE_SIM_URL",
    "ORCHESTRATE_TRUST_PLAN",
)


@pytest.fixture(autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in _ISOLATED_ENV:
        monkeypatch.delenv(name, raising=False)
    config_home: Path = tmp_path_factory.mktemp("xdg-config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
