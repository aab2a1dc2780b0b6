"""``custom_id``: one batch request's name, derived from its row and its request.

``<row key, made safe>_<20 hex digits of sha256(key, request hash, repair)>``
matches ``^[a-zA-Z0-9_-]{1,64}$`` whatever the key holds, is the same on every
run for the same request (so a rerun recognises its own requests in a batch it
lost track of), differs between two rows even when their keys make the same
safe text, and differs between a request and each of its repairs. It maps back
to its row through the submission journal, which records it beside the key.
"""

from __future__ import annotations

import hashlib
import re

CUSTOM_ID_RE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
_UNSAFE = re.compile(r"[^a-zA-Z0-9-]+")
_STEM_MAX = 40
_DIGEST_CHARS = 20


def custom_id(key: str, request_hash: str, repair: int = 0) -> str:
    """The ``custom_id`` of row ``key``'s request ``request_hash`` (``repair`` turns in)."""
    digest = hashlib.sha256(f"{key}\0{request_hash}\0{repair}".encode()).hexdigest()[:_DIGEST_CHARS]
    stem = _UNSAFE.sub("-", key).strip("-")[:_STEM_MAX] or "row"
    return f"{stem}_{digest}"
