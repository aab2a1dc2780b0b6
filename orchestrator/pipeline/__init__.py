"""The staged batch pipeline: ACQUIRE → PREPARE → PROCESS → PARSE → RENDER.

Each stage reads the previous stage's per-item checkpoint and writes its own
(``raw.json``, ``prompt.md``, ``response.md``, ``parsed.json``, then the
batch's ``index.html``). Every checkpoint stores the hashes of its inputs, so
a rerun skips what is current and redoes what a changed row made stale. Only
PROCESS spends money. See docs/pipeline.md.
"""
