"""Which registered outputs the simulator wrote (read-only, for ``orchestrate status``).

A tracking entry records the provider of its output's response; ``sim``
marks a rehearsal's output, which must never be taken for real work. YAML
tracking files carry ``provider: sim``; markdown ones say ``SIMULATED`` in
the entry's text (see :mod:`orchestrator.recorder.tracking_md`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import yaml

from orchestrator.errors import InputFileError
from orchestrator.recorder.tracking import MARKDOWN_SUFFIXES
from orchestrator.safeio import TRACKING, read_bytes

#: the words a markdown tracking entry of a simulated output carries
MARKDOWN_MARK = "SIMULATED (--provider sim)"
_MD_PATH = re.compile(r"`([^`]+)`")
_YAML_SIM = re.compile(r"^\s*(?:-\s+)?provider:\s*['\"]?sim['\"]?\s*$", re.MULTILINE)


def simulated_outputs(tracking_path: Path) -> set[str]:
    """Absolute, normalised paths of the outputs whose tracking entry says the simulator wrote them."""
    try:
        text = read_bytes(tracking_path, TRACKING).decode("utf-8")
    except (OSError, UnicodeDecodeError, InputFileError):
        return set()
    if MARKDOWN_MARK not in text and not _YAML_SIM.search(text):
        return set()  # no rehearsal registered anything: no parse of 10,000 entries (seconds, 100s of MB)
    base = tracking_path.parent
    if tracking_path.suffix.lower() in MARKDOWN_SUFFIXES:
        found = [m.group(1) for line in text.splitlines() if MARKDOWN_MARK in line and (m := _MD_PATH.search(line))]
    else:
        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # libyaml: about 2x faster
        except yaml.YAMLError:
            return set()
        entries = data.get("outputs") if isinstance(data, dict) else None
        found = [
            str(e["path"]) for e in entries or [] if isinstance(e, dict) and e.get("provider") == "sim" and "path" in e
        ]
    return {os.path.realpath(base / p) for p in found}
