"""Tracking file registration: YAML round-trip and markdown tables or lists."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from orchestrator.errors import RecordError
from orchestrator.recorder.tracking import TrackingEntry, register_entries


def _entry(tmp_path: Path, name: str = "quorum.md", **changes: object) -> TrackingEntry:
    out = tmp_path / "output" / name
    out.parent.mkdir(exist_ok=True)
    if not out.exists():
        out.write_text("---\nterm: Quorum\n---\n")
    fields: dict[str, object] = {
        "title": "Quorum",
        "phase": 1,
        "row": "2",
        "model": "haiku",
        "validated_at": datetime(2026, 11, 21, 5, 0, tzinfo=UTC),
    }
    fields.update(changes)
    return TrackingEntry.for_output(out, **fields)  # type: ignore[arg-type]


def test_new_yaml_file_lists_every_field(tmp_path: Path) -> None:
    entry = _entry(tmp_path, tokens=1234, cost_usd=0.0042)
    text = register_entries(None, [entry], tmp_path / "output" / "tracking.yaml")
    data = YAML(typ="safe").load(text)
    assert data["outputs"] == [
        {
            "path": "quorum.md",
            "title": "Quorum",
            "phase": 1,
            "row": 2,
            "model": "haiku",
            "sha256": entry.sha256,
            "validated_at": "2026-11-21T05:00:00Z",
            "tokens": 1234,
            "cost_usd": 0.0042,
        }
    ]
    assert len(entry.sha256) == 64


USER_YAML = """\
# Hand-kept register.  Do not reorder!
outputs:
- path: "idempotency.md"   # written by hand
  title: 'Idempotency'
  reviewed: yes
- path: quorum.md
  title: Old title
  tokens: 99
"""


def test_yaml_comments_quoting_and_order_survive_and_reregistering_updates(tmp_path: Path) -> None:
    where = tmp_path / "output" / "tracking.yaml"
    text = register_entries(USER_YAML, [_entry(tmp_path)], where)
    assert text.startswith(USER_YAML.split("- path: quorum.md")[0])
    assert text.count("quorum.md") == 1
    assert "title: Quorum\n" in text
    assert "tokens" not in text.split("quorum.md")[1]  # unknown now: the stale count goes
    again = register_entries(text, [_entry(tmp_path)], where)
    assert again == text


def test_yaml_crlf_and_top_level_list_are_kept(tmp_path: Path) -> None:
    source = "- path: a.md\r\n  title: A\r\n"
    text = register_entries(source, [_entry(tmp_path)], tmp_path / "output" / "t.yml")
    assert text.startswith(source)
    assert "\n" not in text.replace("\r\n", "")


def test_broken_yaml_is_not_overwritten(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="not valid YAML"):
        register_entries("outputs: [unclosed\n", [_entry(tmp_path)], tmp_path / "t.yaml")


MD_TABLE = """# Tracking

| Path      | Title       | Model | Notes |
| --------- | ----------- | ----- | ----- |
| a.md      | A           | haiku | kept  |
"""


def test_markdown_table_gets_an_aligned_row_then_updates_it(tmp_path: Path) -> None:
    where = tmp_path / "output" / "tracking.md"
    text = register_entries(MD_TABLE, [_entry(tmp_path, title="Quorum | Q")], where)
    assert text == MD_TABLE + "| quorum.md | Quorum \\| Q | haiku |       |\n"
    again = register_entries(text, [_entry(tmp_path, title="Quorum")], where)
    assert again == MD_TABLE + "| quorum.md | Quorum      | haiku |       |\n"


def test_markdown_list_gets_an_item_with_the_same_bullet(tmp_path: Path) -> None:
    where = tmp_path / "output" / "tracking.md"
    source = "# Outputs\n\n* `a.md` — A\n\nLater prose.\n"
    text = register_entries(source, [_entry(tmp_path)], where)
    lines = text.splitlines()
    assert lines[:3] == ["# Outputs", "", "* `a.md` — A"]
    assert lines[3].startswith("* `quorum.md` — Quorum (phase 1, row 2, model haiku, sha256 ")
    assert lines[4:] == ["", "Later prose."]
    assert register_entries(text, [_entry(tmp_path)], where) == text
