"""Exact duplicates: the same article id again, or the same cleaned body under another id.

The state is any mutable mapping (a dict offline, a Faust table in the worker):
keys are ``id:<article id>`` and ``body:<sha256>``, values the id of the first
article seen. A duplicate's own id is recorded too, pointing at the first
article, so republishing the duplicate later still resolves to the original.
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping

from sahelwatch.core.model import Duplicate


def body_fingerprint(body: str) -> str:
    """SHA-256 of the body with case and whitespace differences removed."""
    canonical = " ".join(body.casefold().split())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class ExactDeduplicator:
    def __init__(self, state: MutableMapping[str, str]) -> None:
        self._state = state

    def check(self, article_id: str, body_sha256: str, body_is_empty: bool) -> Duplicate | None:
        """Return the duplicate verdict, recording the article when it is new.

        An empty body says nothing about identity (title-only items, failed
        extractions), so it is never matched on its hash.
        """
        id_key, body_key = f"id:{article_id}", f"body:{body_sha256}"
        first = self._state.get(id_key)
        if first is not None:
            return Duplicate(of=first, kind="exact", matched_on="id")
        if not body_is_empty:
            first = self._state.get(body_key)
            if first is not None:
                self._state[id_key] = first
                return Duplicate(of=first, kind="exact", matched_on="body_sha256")
            self._state[body_key] = article_id
        self._state[id_key] = article_id
        return None
