"""The HTML report: self-contained, and right in a real browser (headless Chromium).

Marked ``browser``: without Chromium the test skips locally but fails in CI
(``CI=true``), so the check can never silently disappear there. Set
``ORCHESTRATE_UPDATE_SCREENSHOT=1`` to refresh docs/images/report.png.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from pipekit import BATCH, ITEMS, REPO, Demo, orchestrate

from orchestrator.sim.server import SimServer

_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]


@pytest.fixture
def chromium() -> str:
    found = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if found is None:
        message = "headless Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": the browser test must run in CI")
        pytest.skip(message)
    return found


def _browser(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [binary, *_FLAGS, f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=120, check=False
    )


def _batch_with_a_failure(demo: Demo, sim: Callable[..., SimServer]) -> dict[str, object]:
    sim("seed=2,pnever_valid=0.2,pbad_enum=0.4")  # seed 2 dooms exactly "Quorum"
    result = orchestrate(
        "run", str(demo.plan), "--phase", "1", "--provider", "sim", "--yes", "--json", "--repair-attempts", "1"
    )
    assert result.code == 1, result.err
    data = result.json()
    assert data["totals"] == {"items": 5, "successful": 4, "failed": 0, "parse_errors": 1, "pending": 0}
    return data


def test_report_is_self_contained(demo: Demo, sim: Callable[..., SimServer]) -> None:
    _batch_with_a_failure(demo, sim)
    page = demo.report.read_text(encoding="utf-8")
    # one script of its own (filter and pages), allowed by hash: the page's CSP lets no other script run
    assert page.count("<script") == 1
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode("utf-8")).digest()).decode("ascii")
    assert f"script-src 'sha256-{digest}'" in page and "default-src 'none'" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in page and "<link" not in page
    assert "<svg" in page and page.count('<tr id="item-') == 5
    assert "<h2>Definition</h2>" in page, "outputs are embedded, rendered"
    assert 'href="../glossary/backpressure.md"' in page


@pytest.mark.browser
def test_report_renders_in_headless_chromium(
    demo: Demo, sim: Callable[..., SimServer], chromium: str, tmp_path: Path
) -> None:
    data = _batch_with_a_failure(demo, sim)
    url = demo.report.resolve().as_uri()
    dumped = _browser(chromium, tmp_path / "profile", "--dump-dom", url)
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    for item in ITEMS:
        assert re.search(rf'<tr id="{item}" data-status="(complete|parse_error)">', dom), item
    assert dom.count('data-status="complete"') == 4 and dom.count('data-status="parse_error"') == 1
    rows = data["rows"]
    assert isinstance(rows, list)
    total_tokens = sum(int(r["tokens"]) for r in rows)
    assert f"{total_tokens:,}" in dom, "the token total is shown"
    assert "Estimate against actual" in dom and "Cost per row" in dom and "<svg" in dom
    assert "category" in dom, "the failing check's message is shown"
    assert f"Batch {BATCH}" in dom

    # screenshot, with the first output opened as a reader would open it
    shot_page = demo.report.with_name("screenshot.html")
    shot_page.write_text(
        demo.report.read_text().replace(
            "<details><summary>View backpressure.md", "<details open><summary>View backpressure.md", 1
        )
    )
    artifact = tmp_path / "artifacts" / "report.png"
    artifact.parent.mkdir()
    shot = _browser(
        chromium,
        tmp_path / "profile2",
        "--window-size=1400,1600",
        f"--screenshot={artifact}",
        shot_page.resolve().as_uri(),
    )
    assert shot.returncode == 0 and artifact.stat().st_size > 20_000, shot.stderr[-2000:]
    assert artifact.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    if os.environ.get("ORCHESTRATE_UPDATE_SCREENSHOT") == "1":
        target = REPO / "docs" / "images" / "report.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(artifact, target)


def _many_rows(demo: Demo, rows: int) -> Path:
    """The demo plan with a Phase 3 of ``rows`` single-term rows."""
    lines = [f"| {100 + i} | Term {i} | term-{i:04d}.md | haiku | pending |" for i in range(rows)]
    table = "\n## Phase 3\n| # | Title | Filename | Model | Status |\n|---|---|---|---|---|\n" + "\n".join(lines) + "\n"
    text = demo.plan.read_text(encoding="utf-8")
    head, tail = text.split("\n## Model Selection Rules", 1)
    demo.plan.write_text(head + table + "\n## Model Selection Rules" + tail, encoding="utf-8")
    return demo.plan


@pytest.mark.browser
def test_a_large_report_pages_its_rows_and_renders_only_the_first_documents(
    demo: Demo, sim: Callable[..., SimServer], chromium: str, tmp_path: Path
) -> None:
    sim("seed=5")
    plan = _many_rows(demo, 230)
    result = orchestrate("run", str(plan), "--phase", "3", "--provider", "sim", "--yes", "--workers", "20")
    assert result.code == 0, result.err
    report = plan.parent / "output" / "glossary-phase3" / "index.html"
    page = report.read_text(encoding="utf-8")
    assert page.count('<tr class="doc-row"') == 200, "documents rendered for the first 200 rows only"
    assert "the other 30 link to their output file" in page
    dumped = _browser(chromium, tmp_path / "profile", "--dump-dom", report.resolve().as_uri())
    assert dumped.returncode == 0, dumped.stderr[-2000:]
    dom = dumped.stdout
    assert "230 of 230 rows, page 1 of 2" in dom, "the script ran under the page's CSP"
    visible = re.findall(r'<tr id="item-[^"]+" data-status="complete">', dom)
    hidden = re.findall(r'<tr id="item-[^"]+" data-status="complete" hidden="">', dom)
    assert len(visible) == 200 and len(hidden) == 30
