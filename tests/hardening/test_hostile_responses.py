"""A model's reply is hostile input too: a YAML bomb in it fails its row fast, never the run.

In issue 13 a "billion laughs" reply ended ``run`` in a ``MemoryError``
cascade, and because the reply was checkpointed first every rerun did the
same. Here a loopback Messages API (the real SDK talks to it) answers every
call with the hostile document; ``run`` must finish under the time limit and
the memory cap, fail the rows (exit 1) with the validator's reason, and a
rerun over the checkpointed replies must do the same.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hardkit import PLAN, alias_bomb, canned_api, copy_template, front_matter_document, make_template, orchestrate

REPLIES = {
    "alias-bomb": (front_matter_document(alias_bomb()), "expands to more than 10,000 values"),
    "alias-cycle": (front_matter_document("loop: &me [a, *me]"), "contains itself"),
    "deep-nesting": (front_matter_document("deep: " + "[" * 5000 + "]" * 5000), "nest"),
    "many-keys": (front_matter_document("\n".join(f"k{n}: v" for n in range(50_000))),
                  "more than the 10,000 a front matter block may hold"),
    "many-values": (front_matter_document("\n".join(f"k{n}: [a, b]" for n in range(4_000))), "10,000 values"),
}


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_template(tmp_path_factory.mktemp("responses") / "project")


def _texts(value: object) -> list[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    return []


@pytest.mark.parametrize("name", sorted(REPLIES))
def test_a_hostile_reply_fails_its_rows_fast(name: str, template: Path, tmp_path: Path) -> None:
    reply, reason = REPLIES[name]
    root = copy_template(template, tmp_path / "project")
    args = ("run", PLAN, "--phase", "1", "--provider", "sim", "--yes", "--json", "--repair-attempts", "1",
            "--limit", "2")
    with canned_api(lambda _body: reply) as (url, seen):
        first = orchestrate(root, args, {"ORCHESTRATE_SIM_URL": url})
        calls = len(seen)
        again = orchestrate(root, args, {"ORCHESTRATE_SIM_URL": url})
    for outcome in (first, again):
        assert not outcome.timed_out and "Traceback" not in outcome.text and "MemoryError" not in outcome.text, \
            outcome.text[-2000:]
        assert outcome.code == 1, outcome.text[-2000:]
    assert calls == 4, "both rows were asked, then asked for a repair"
    data = json.loads(first.out)
    assert data["totals"]["successful"] == 0
    assert any(reason in text for text in _texts(data)), f"no row names the reason {reason!r}"
    assert not (root / "plans/output/glossary/fencing-token.md").exists(), "no output written from a hostile reply"
