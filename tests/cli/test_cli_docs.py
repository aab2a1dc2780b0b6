"""The documented exit codes are the code's, and the docs name what issue 10 added."""

from __future__ import annotations

import re
from pathlib import Path

from orchestrator import errors

REPO = Path(__file__).resolve().parents[2]
CLI_DOC = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")


def exit_table() -> dict[int, tuple[str, str]]:
    """``code -> (constant, meaning)`` from the one exit-code table in docs/cli.md."""
    section = CLI_DOC.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| (\d+) \| `(\w+)` \| (.+) \|$", section, re.MULTILINE)
    return {int(code): (name, meaning) for code, name, meaning in rows}


def test_the_exit_code_table_matches_the_constants() -> None:
    table = exit_table()
    constants = {name: value for name, value in vars(errors).items() if name.startswith("EXIT_")}
    assert sorted(table) == sorted(constants.values()) == [0, 1, 2, 130]
    for code, (name, _) in table.items():
        assert constants[name] == code, f"docs/cli.md says {name} is {code}"


def test_the_table_names_each_outcome_of_issue_10() -> None:
    table = exit_table()
    assert "not confirmed" in table[2][1] and "[y/N]" in table[2][1]
    assert "Ctrl-C at a `[y/N]` question" in table[130][1]
    assert "connection" in table[1][1] and "linter" in table[1][1]


def test_each_error_exits_with_its_documented_code() -> None:
    assert errors.NotConfirmed("x").exit_code == errors.EXIT_BAD_INPUT
    assert errors.ConfirmationRequired("x").exit_code == errors.EXIT_BAD_INPUT
    assert errors.Interrupted("x").exit_code == errors.EXIT_INTERRUPTED
    assert errors.EnvironmentFailure(["linter missing"]).exit_code == errors.EXIT_FAILED
    assert errors.ConnectionFailed("refused").exit_code == errors.EXIT_FAILED


def test_doctor_is_documented_and_the_readme_shows_an_install_for_pep_668() -> None:
    assert "## `orchestrate doctor PLAN" in CLI_DOC
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "python3 -m venv .venv && . .venv/bin/activate && pip install ." in readme
    assert "pipx install ." in readme and "PEP 668" in readme
