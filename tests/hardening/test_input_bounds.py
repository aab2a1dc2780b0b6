"""The input layer's bounds, one by one: safeio's refusals, front matter's limits, the request-size check."""

from __future__ import annotations

import os
import socket
import tempfile
import threading
from pathlib import Path

import pytest
import yaml
from hardkit import alias_bomb, front_matter_document
from orchestrator.validators import fmparse
from orchestrator.validators.document import parse_document

from orchestrator import safeio
from orchestrator.errors import ConfigError, InputFileError, RequestTooLarge
from orchestrator.models import DEFAULT_CONTEXT_TOKENS, load_model_table
from orchestrator.plan.parser import parse_plan
from orchestrator.prompts import build_request
from orchestrator.request_size import check_request, reference_problems, request_tokens

# --- safeio -----------------------------------------------------------------------------


def _refusal(path: Path, kind: safeio.Kind = safeio.PLAN) -> InputFileError:
    """The refusal of reading ``path``, from a thread, so a read that blocks fails instead of hanging."""
    found: list[BaseException] = []
    worker = threading.Thread(target=lambda: _catch(path, kind, found), daemon=True)
    worker.start()
    worker.join(10)
    assert not worker.is_alive(), f"reading {path} blocked"
    assert len(found) == 1 and isinstance(found[0], InputFileError), found
    return found[0]


def _catch(path: Path, kind: safeio.Kind, found: list[BaseException]) -> None:
    try:
        safeio.read_bytes(path, kind)
    except BaseException as exc:  # handed to the test thread
        found.append(exc)


def test_a_fifo_is_refused_without_opening_it(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "plan.md")
    refusal = _refusal(tmp_path / "plan.md")
    assert refusal.reason == "not_regular" and "named pipe (FIFO)" in refusal.message
    assert refusal.exit_code == 2 and refusal.hint and refusal.where == str(tmp_path / "plan.md")


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/null", "/dev/urandom"])
def test_a_device_is_refused(device: str) -> None:
    refusal = _refusal(Path(device))
    assert "character device, not a regular file" in refusal.message


def test_a_socket_is_refused(tmp_path: Path) -> None:
    short = Path(tempfile.mkdtemp(dir="/tmp"))
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(str(short / "s"))
            assert "a socket" in _refusal(short / "s").message
    finally:
        (short / "s").unlink()
        short.rmdir()


def test_a_symlink_loop_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "a.md").symlink_to("b.md")
    (tmp_path / "b.md").symlink_to("a.md")
    refusal = _refusal(tmp_path / "a.md", safeio.REFERENCE)
    assert refusal.reason == "symlink_loop" and refusal.message.startswith("format reference is a symlink loop")


def test_missing_files_and_folders_pass_through_as_python_raises_them(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        safeio.read_bytes(tmp_path / "nope.md", safeio.PLAN)
    with pytest.raises(IsADirectoryError):
        safeio.read_bytes(tmp_path, safeio.PLAN)
    with pytest.raises(NotADirectoryError):
        (tmp_path / "file").write_text("x")
        safeio.read_bytes(tmp_path / "file" / "below.md", safeio.PLAN)


def test_the_size_limit_is_checked_before_reading_and_named(tmp_path: Path) -> None:
    big = tmp_path / "big.md"
    with open(big, "wb") as handle:
        handle.truncate(3 << 30)  # sparse: nothing is written, nothing may be read
    refusal = _refusal(big, safeio.OUTPUT)
    assert refusal.reason == "too_large"
    assert "output file is 3 GiB (3,221,225,472 bytes), over the 1 MiB limit for a output file" in refusal.message
    assert "ORCHESTRATE_MAX_OUTPUT_BYTES" in (refusal.hint or "")


def test_the_limits_follow_their_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "plan.md"
    path.write_text("x\n" * 600)
    assert safeio.read_bytes(path, safeio.PLAN) == b"x\n" * 600
    monkeypatch.setenv("ORCHESTRATE_MAX_PLAN_BYTES", "1k")
    assert "over the 1 KiB limit" in _refusal(path).message
    monkeypatch.setenv("ORCHESTRATE_MAX_PLAN_BYTES", "2KiB")
    monkeypatch.setenv("ORCHESTRATE_MAX_PLAN_LINES", "500")
    assert "600 lines, over the 500-line limit" in _refusal(path).message
    monkeypatch.setenv("ORCHESTRATE_MAX_PLAN_BYTES", "-3")
    with pytest.raises(ConfigError, match="ORCHESTRATE_MAX_PLAN_BYTES='-3' is not a size"):
        safeio.read_bytes(path, safeio.PLAN)


def test_a_file_that_keeps_growing_is_cut_off_at_the_limit() -> None:
    """/proc/self/pagemap reports size 0 and reads on for gigabytes: the read stops past the limit."""
    pagemap = Path("/proc/self/pagemap")
    assert pagemap.stat().st_size == 0
    refusal = _refusal(pagemap, safeio.REFERENCE)
    assert "grew past 1 MiB while being read" in refusal.message


def test_check_readable_refuses_without_reading(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "tracking.yaml")
    with pytest.raises(InputFileError, match="named pipe"):
        safeio.check_readable(tmp_path / "tracking.yaml", safeio.TRACKING)
    safeio.check_readable(tmp_path / "absent.yaml", safeio.TRACKING)  # absent is the caller's business


def test_human_sizes() -> None:
    assert [safeio.human_size(n) for n in (900, 1024, 1536, 50_000_000, 1 << 30)] == [
        "900 bytes", "1 KiB", "1.5 KiB", "47.7 MiB", "1 GiB"]


# --- front matter --------------------------------------------------------------------------


@pytest.fixture(params=["libyaml", "pure-python"])
def loader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Each front matter test runs with libyaml's parser and with the pure-Python fallback."""
    if request.param == "pure-python":
        monkeypatch.setattr(fmparse, "_FAST_LOADER", None)
    else:
        assert fmparse._FAST_LOADER is yaml.CBaseLoader, "PyYAML is built with libyaml here"
    return str(request.param)


@pytest.mark.parametrize(("extra", "message", "line"), [
    (alias_bomb(), "key 'lol4' expands to more than 10,000 values", 9),
    (alias_bomb(3, 1000), "key 'lol1' expands to more than 10,000 values", 6),
    ("a: &x [1, *x]", "key 'a' has a YAML alias that contains itself", 5),
    ("m: &x {k: *x}", "key 'm' has a YAML alias that contains itself", 5),
    ("d: " + "[" * 60 + "]" * 60, "key 'd' nests lists or mappings deeper than 50 levels", 5),
    ("\n".join(f"k{n}: [a, b]" for n in range(4_000)), "expands to more than 10,000 values", None),
    ("\n".join(f"k{n}: v" for n in range(10_001)), "10,004 lines, more than the 10,000", 2),
])
def test_front_matter_is_bounded(loader: str, extra: str, message: str, line: int | None) -> None:
    front = parse_document(front_matter_document(extra)).front_matter
    assert front.status is fmparse.FMStatus.MALFORMED
    assert message in front.message
    assert line is None or front.line == line


def test_deep_flow_nesting_is_refused_by_either_parser(loader: str) -> None:
    front = parse_document(front_matter_document("d: " + "[" * 5000 + "]" * 5000)).front_matter
    assert front.status is fmparse.FMStatus.MALFORMED and "nest" in front.message and front.line == 5


def test_a_harmless_alias_still_works_and_values_stay_strings(loader: str) -> None:
    front = parse_document(front_matter_document("base: &b [x, y]\nagain: *b\nwhen: 2024-01-01\nn: 3")).front_matter
    assert front.ok, front.message
    assert front.entries["again"].value == ["x", "y"] and [i.line for i in front.entries["again"].items] == [5, 5]
    assert front.entries["when"].value == "2024-01-01" and front.entries["n"].value == "3"


def test_both_parsers_read_the_same_entries_and_the_same_errors() -> None:
    samples = [front_matter_document("k: [a, 'b, c']\nm: {x: 1}\n? complex\n: v"), "---\na: [unclosed\n---\n",
               "---\n- a\n- b\n---\n", "---\na: 1\na: 2\n---\n", "---\nkey: : :\n---\n", "---\n\t x: 1\n---\n"]
    for text in samples:
        fast = parse_document(text).front_matter
        fmparse._FAST_LOADER, saved = None, fmparse._FAST_LOADER
        try:
            slow = parse_document(text).front_matter
        finally:
            fmparse._FAST_LOADER = saved
        assert fast == slow, text


def test_tags_are_never_constructed(tmp_path: Path, loader: str) -> None:
    text = front_matter_document(f"x: !!python/object/apply:os.system ['touch {tmp_path}/pwned']")
    front = parse_document(text).front_matter
    assert front.ok and front.entries["x"].value == ["touch " + str(tmp_path) + "/pwned"]
    assert not (tmp_path / "pwned").exists()


# --- request size -----------------------------------------------------------------------------


PLAN_TEXT = """# P

## Format Reference
ref.md

## Output Directory
out/

## Content Rules
- Keep it short

## Validation Checklist
1. Front matter present

## Phase 1
| # | Title | Filename | Model | Status |
|---|---|---|---|---|
| 1 | Alpha | alpha.md | haiku | pending |
| 2 | Beta | beta.md | sonnet | pending |
"""


def test_the_model_table_has_a_context_window() -> None:
    table = load_model_table()
    assert all(info.context_tokens == DEFAULT_CONTEXT_TOKENS == 200_000 for info in table.models.values())


def test_a_request_over_the_window_is_refused_with_row_size_and_limit(tmp_path: Path) -> None:
    plan = parse_plan(PLAN_TEXT, tmp_path / "plan.md")
    row = next(plan.rows())
    haiku = load_model_table().resolve("haiku")
    small = build_request(plan, row, "short reference")
    check_request(small, haiku, row, plan.path)  # fits: no error
    big = build_request(plan, row, "x" * 1_000_000)
    tokens = request_tokens(big)
    assert tokens > 250_000
    with pytest.raises(RequestTooLarge) as caught:
        check_request(big, haiku, row, plan.path)
    error = caught.value
    assert error.exit_code == 2 and error.where == f"{plan.path}:{row.line}"
    assert "row #1 ('Alpha', Phase 1)" in error.message
    assert f"about {tokens:,} input tokens, over the 200,000-token context window of claude-haiku-5-5" in error.message
    assert "nothing was sent" in (error.hint or "")
    with pytest.raises(RequestTooLarge, match="with 8,192 reserved for the reply"):
        check_request(small, haiku, row, plan.path, tokens=195_000, output_tokens=8192)


def test_check_names_each_model_whose_rows_cannot_fit(tmp_path: Path) -> None:
    plan = parse_plan(PLAN_TEXT, tmp_path / "plan.md")
    models = load_model_table()
    assert reference_problems(plan, "a small reference", models) == []
    found = reference_problems(plan, "y" * 900_000, models)
    assert sorted(p.message.split(":")[0] for p in found) == [
        "the format reference is too large for claude-haiku-5-5",
        "the format reference is too large for claude-sonnet-5-5"]
    assert all(p.line == 4 and "context window" in p.message for p in found)


def test_context_tokens_must_be_a_positive_number(tmp_path: Path) -> None:
    (tmp_path / "orchestrate.toml").write_text("[models.haiku]\ncontext_tokens = 1000000\n")
    assert load_model_table(tmp_path).resolve("haiku").context_tokens == 1_000_000
    (tmp_path / "orchestrate.toml").write_text("[models.haiku]\ncontext_tokens = -5\n")
    with pytest.raises(ConfigError, match="context_tokens must be a positive whole number"):
        load_model_table(tmp_path)
