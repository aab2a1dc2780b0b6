"""Registering new outputs by appending text gives what the round trip would, and keeps every earlier byte."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from orchestrator.recorder import tracking_yaml
from orchestrator.recorder.tracking_append import append_entries

FIELDS = {"phase": 1, "model": "claude-haiku-5-5", "sha256": "ab" * 32, "validated_at": "2026-12-01T22:00:00Z"}


def record(path: str, title: str, **extra: object) -> dict[str, object]:
    return {"path": path, "title": title, **FIELDS, "row": 2, "tokens": 1234, "cost_usd": 0.0312, **extra}


@pytest.mark.parametrize(
    "title",
    ["Quorum", "CAP: what it costs", "yes", "it's 'quoted'", "# not a comment", "Ünïcode title", "- dash", "null",
     "1e3", "a | b", "<script>alert(1)</script>", "tab\there"],
)
def test_appended_entry_reads_back_as_the_round_trip_would(title: str) -> None:
    first = tracking_yaml.register(None, [record("a.md", "First")], Path("t.yaml"))
    appended = append_entries(first, [record("b.md", title)])
    assert appended is not None and appended.startswith(first)
    loaded = yaml.safe_load(appended)["outputs"]
    assert [e["title"] for e in loaded] == ["First", title]
    assert loaded[1]["tokens"] == 1234 and abs(loaded[1]["cost_usd"] - 0.0312) < 1e-12 and loaded[1]["row"] == 2
    assert str(loaded[1]["validated_at"]).startswith("2026-12-01")


def test_indentation_and_crlf_of_the_file_are_followed() -> None:
    text = "# mine\r\noutputs:\r\n    -   path: a.md\r\n        title: A\r\n"
    out = append_entries(text, [record("b.md", "B")])
    assert out is not None and out.startswith(text)
    assert "\r\n    -   path: b.md\r\n        title: B\r\n" in out
    assert "\n" not in out.replace("\r\n", "")


def test_existing_path_or_list_not_at_the_end_falls_back_to_the_round_trip() -> None:
    text = "outputs:\n  - path: a.md\n    title: A\nother: 1\n"
    assert append_entries(text, [record("b.md", "B")]) is None  # the list is not the last thing
    text = "outputs:\n  - path: a.md\n    title: A\n"
    assert append_entries(text, [record("./a.md", "A again")]) is None  # an update: round trip
    updated = tracking_yaml.register(text, [record("a.md", "A again")], Path("t.yaml"))
    assert yaml.safe_load(updated)["outputs"][0]["title"] == "A again"
    assert len(yaml.safe_load(updated)["outputs"]) == 1


def test_thousands_of_registrations_grow_the_file_without_rewriting_it() -> None:
    text = tracking_yaml.register(None, [record("0.md", "zero")], Path("t.yaml"))
    out = append_entries(text, [record(f"{i}.md", f"Row {i}") for i in range(1, 3_001)])
    assert out is not None and out.startswith(text)
    again = append_entries(out, [record(f"{i}.md", f"Row {i}") for i in range(3_001, 6_001)])
    assert again is not None and again.startswith(out)
    assert len(yaml.load(again, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))["outputs"]) == 6_001
    assert append_entries(again, [record("./2500.md", "again")]) is None  # already there: an update


def test_a_new_tracking_file_is_written_by_appending_under_its_header() -> None:
    out = tracking_yaml.register(None, [record(f"{i}.md", f"Row {i}") for i in range(3)], Path("t.yaml"))
    assert out.startswith(tracking_yaml.NEW_FILE), "the header comment and `outputs:` come first, untouched"
    assert [e["path"] for e in yaml.safe_load(out)["outputs"]] == ["0.md", "1.md", "2.md"]
    assert "\n  - path: '0.md'\n    title: Row 0\n" in out  # a leading digit could read as a number: quoted
    again = tracking_yaml.register(out, [record("1.md", "Row one")], Path("t.yaml"))  # an update: round trip
    assert [e["title"] for e in yaml.safe_load(again)["outputs"]] == ["Row 0", "Row one", "Row 2"]
