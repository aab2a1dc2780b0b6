"""Markers of the claude-code tests: ``sim(**SimConfig fields)`` and ``agent(**provider options)``."""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sim(**settings): SimConfig fields for the test's simulator")
    config.addinivalue_line("markers", "agent(**options): ClaudeCodeProvider options for the test")
