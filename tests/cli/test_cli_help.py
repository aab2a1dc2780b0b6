"""Every command's ``--help`` shows its examples one per line (issue 10, finding 7)."""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from orchestrator.cli.main import COMMANDS, cli


def help_text(*args: str, width: int = 80) -> str:
    result = CliRunner().invoke(cli, [*args, "--help"], terminal_width=width)
    assert result.exit_code == 0, result.output
    return result.output


def examples(text: str) -> list[str]:
    """The lines of the ``Example:``/``Examples:`` block, up to the next blank line."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.fullmatch(r"\s*Examples?:\s*", line)), None)
    assert start is not None, f"no line that is only 'Example:' or 'Examples:' in:\n{text}"
    block: list[str] = []
    for line in lines[start + 1 :]:
        if not line.strip():
            break
        block.append(line.strip())
    return block


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("width", [60, 80])
def test_each_example_is_one_whole_line(name: str, width: int) -> None:
    found = examples(help_text(name, width=width))
    assert found, f"`orchestrate {name} --help` shows no example"
    for line in found:
        assert "orchestrate " in line, f"{name}: an example line that is not a command: {line!r}"
        assert line.count("orchestrate ") == 1, f"{name}: examples run together: {line!r}"


def test_the_group_help_lists_every_command_and_its_examples() -> None:
    text = help_text()
    for name in COMMANDS:
        assert re.search(rf"^\s+{re.escape(name)}\s", text, re.MULTILINE), f"{name} missing from orchestrate --help"
    assert len(examples(text)) == 3
