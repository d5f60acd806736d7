"""The exact identity of a cleaned body."""

from __future__ import annotations

import hashlib


def body_fingerprint(body: str) -> str:
    """SHA-256 of the body with case and whitespace differences removed."""
    canonical = " ".join(body.casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()
