"""Finding the agent runtime: the ``claude`` CLI, wherever it was installed.

In order: the path given (option ``cli_path`` or ``ORCHESTRATE_CLAUDE_PATH``),
``claude`` on ``PATH``, a project-local npm install
(``.claude-runtime/node_modules/.bin/claude`` in the working directory or
beside this package's checkout), and the CLI that the ``claude-agent-sdk``
wheel bundles (``claude_agent_sdk/_bundled/claude``, found without importing
the SDK). Whichever is found is run the same way, so one watchdog and one
result parser cover both runtimes.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from orchestrator.errors import ConfigError

PATH_VARIABLE = "ORCHESTRATE_CLAUDE_PATH"
LOCAL_RUNTIME = Path(".claude-runtime") / "node_modules" / ".bin" / "claude"
INSTALL_HINT = (
    "install an agent runtime, either:\n"
    "    - pip install 'plan-orchestrator[claude-code]'   (claude-agent-sdk; its wheel bundles the CLI), or\n"
    "    - npm install --prefix .claude-runtime @anthropic-ai/claude-code   (the CLI, project-local), or\n"
    "    - npm install -g @anthropic-ai/claude-code   (the CLI on PATH);\n"
    f"  or point {PATH_VARIABLE} at a claude executable"
)


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def bundled_cli() -> Path | None:
    """The CLI inside an installed ``claude-agent-sdk`` wheel, if any."""
    try:
        spec = importlib.util.find_spec("claude_agent_sdk")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        for name in ("claude", "claude.exe"):
            candidate = Path(location) / "_bundled" / name
            if _executable(candidate):
                return candidate
    return None


def find_cli(env: Mapping[str, str], cli_path: str | None = None, cwd: Path | None = None) -> Path:
    """The ``claude`` executable to run; :class:`ConfigError` with the install hint when none is found."""
    given = cli_path or env.get(PATH_VARIABLE) or None
    if given:
        path = Path(given).expanduser()
        if not path.is_absolute():
            found = shutil.which(given, path=env.get("PATH"))
            path = Path(found) if found else path
        if not _executable(path):
            raise ConfigError(
                f"the claude CLI given ({given}) is not an executable file",
                hint=f"fix {PATH_VARIABLE} (or the cli_path option), or unset it to search PATH",
            )
        return path
    on_path = shutil.which("claude", path=env.get("PATH"))
    if on_path:
        return Path(on_path)
    checkout = Path(__file__).resolve().parents[3]
    for base in (cwd or Path.cwd(), checkout):
        if _executable(base / LOCAL_RUNTIME):
            return base / LOCAL_RUNTIME
    bundled = bundled_cli()
    if bundled is not None:
        return bundled
    raise ConfigError("--provider claude-code needs Claude Code, and no runtime was found", hint=INSTALL_HINT)
