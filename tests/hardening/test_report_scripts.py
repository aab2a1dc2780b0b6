"""The HTML report runs no script from a title or an output, in a real browser (headless Chromium).

Row titles and model outputs carry ``<script>``, event handlers, ``javascript:``
and ``data:`` links. Each payload, if it ever ran, would write a marker
("PWNED", assembled at run time so the page's text never holds it) into the
page. The report of a run over them is opened in Chromium with time to run
scripts, and the DOM Chromium built is checked: no marker, no element with an
``on*`` attribute, no ``javascript:``/``data:`` link, no frame, and only the
page's own script. The same is checked on a copy whose Content-Security-Policy
is removed, so escaping alone is proven, not only the policy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hardkit import PLAN, canned_api, copy_template, edit, make_template, orchestrate, request_title

MARK = "'PW'+'NED'"
TITLES = [
    f"<script>document.title={MARK}</script>",
    f"<img src=x onerror=\"document.body.setAttribute('data-x',{MARK})\">",
    f"<svg onload=\"document.title={MARK}\"></svg>",
    f"<a href=\"javascript:document.title={MARK}\">click me</a>",
    f"\"><iframe src=\"javascript:parent.document.title={MARK}\"></iframe>",
]
ROWS = [("Quorum", "quorum.md"), ("Backpressure", "backpressure.md"), ("Fencing Token", "fencing-token.md"),
        ("Vector Clock", "vector-clock.md"), ("Circuit Breaker", "circuit-breaker.md")]
_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--virtual-time-budget=3000"]
_URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "background"}
_BAD_SCHEMES = re.compile(r"^(javascript|vbscript|data):", re.IGNORECASE)


def _document(body: dict[str, Any]) -> str:
    """A valid glossary entry about the requested title, full of payloads."""
    title = request_title(body)
    return f"""---
term: {json.dumps(title)}
category: Reliability
tags: [distributed-systems, reliability]
---

## Definition

<script>document.title={MARK}</script> <img src=x onerror="document.title={MARK}">
A [click](javascript:document.title={MARK}) and ![image](javascript:alert(1)) and <javascript:alert(1)>
and [hidden](jav&#x09;ascript:document.title={MARK}) and [data](data:text/html;base64,PHNjcmlwdD4=).

## Details

| Aspect | Value |
|--------|-------|
| Payload | <svg onload="document.title={MARK}"></svg> |

## Related Terms

- <a href="javascript:document.title={MARK}">Idempotency</a>
- <iframe src="javascript:document.title={MARK}"></iframe>
"""


class _Dom(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("iframe", "frame", "object", "embed"):
            self.problems.append(f"a <{tag}> element")
        if tag == "script":
            self._in_script = True
            self.scripts.append("")
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=...>")
            cleaned = re.sub(r"[\x00-\x20]", "", value or "")
            if name in _URL_ATTRIBUTES and _BAD_SCHEMES.match(cleaned):
                self.problems.append(f"<{tag} {name}={value!r}>")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = self._in_script and tag != "script"

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


@pytest.fixture
def chromium() -> str:
    found = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
    if found is None:
        message = "headless Chromium is not installed (apt-get install chromium)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + ": the browser test must run in CI")
        pytest.skip(message)
    return found


def _dump(chromium: str, page: Path, profile: Path) -> str:
    done = subprocess.run([chromium, *_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_report_runs_no_payload_script(chromium: str, tmp_path: Path) -> None:
    root = copy_template(make_template(tmp_path / "template"), tmp_path / "project")
    for (title, name), payload in zip(ROWS, TITLES, strict=True):
        edit(root / PLAN, f"| {title} | {name} |", f"| {payload} | {name} |")
    (root / "plans/output/glossary/quorum.md").unlink()
    (root / "plans/output/glossary/backpressure.md").unlink()
    assert orchestrate(root, ("check", PLAN)).code == 0, "the payload titles are a valid plan"
    with canned_api(_document) as (url, seen):
        run = orchestrate(root, ("run", PLAN, "--phase", "1", "--provider", "sim", "--yes"),
                          {"ORCHESTRATE_SIM_URL": url}, timeout=120)
    assert run.code == 0 and len(seen) == 5, run.text[-3000:]
    report = root / "plans/output/glossary-phase1/index.html"
    page = report.read_text(encoding="utf-8")
    assert page.count("&lt;script&gt;document.title=") >= 5, "titles and outputs reached the page, as text"
    assert "Content-Security-Policy" in page
    bare = report.with_name("no-csp.html")
    bare.write_text(re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page), encoding="utf-8")
    own_script = resources.files("orchestrator").joinpath("templates/report.js").read_text(encoding="utf-8")
    for name, target in (("report", report), ("report without its CSP", bare)):
        dom = _dump(chromium, target, tmp_path / f"profile-{target.stem}")
        assert 'id="rows"' in dom, f"{name}: Chromium rendered the page"
        assert "PWNED" not in dom, f"{name}: a payload ran"
        parsed = _Dom()
        parsed.feed(dom)
        assert not parsed.problems, f"{name}: {parsed.problems[:10]}"
        assert [s.strip() for s in parsed.scripts] == [own_script.strip()], f"{name}: a script other than the page's"
