"""The LSH band index: which live stories share a band key with a new article.

A week of stories is about half a million band keys (32 a story). As a Python
dict of tuples that was 100 MB of the worker's memory, so the keys live in two
sorted numpy arrays (key, story serial: 16 bytes an entry), with the keys added
since the last merge in a small dict; a merge folds them in and drops the
entries of removed stories.

A bucket is the ``MAX_BUCKET`` newest live stories of a key (by published time,
then id). It depends only on which stories are live, not on the order they
arrived in, so an index rebuilt from the table after a restart is the same as
the one a running worker built.
"""

from __future__ import annotations

from array import array

import numpy as np

MAX_BUCKET = 16
MERGE_AT = 65_536  # entries added since the last merge: the dict of recent keys stays a few MB


class BandIndex:
    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.uint64)  # sorted
        self._serials = np.empty(0, dtype=np.int64)  # the story of each key
        # Keys added since the last merge, for lookups: a key's first story, and the rare later ones apart.
        # Ints only, so the garbage collector does not walk them (a list per key, 32 per story, made its
        # full collections take 20 ms and more in the worker).
        self._recent: dict[int, int] = {}
        self._recent_more: dict[int, list[int]] = {}
        self._recent_keys = array("Q")  # the same entries in the order added, for the merge
        self._recent_serials = array("q")
        self._serial_of: dict[str, int] = {}  # live stories
        self._ids: list[str] = []  # by serial, live or not (until a merge renumbers them)
        self._published: list[float] = []
        self._sizes: list[int] = []
        self._entries = 0

    def __len__(self) -> int:
        """Band entries of live stories."""
        return self._entries

    def __contains__(self, story_id: object) -> bool:
        return story_id in self._serial_of

    def add(self, story_id: str, published: float, keys: list[int]) -> None:
        self.remove(story_id)
        serial = len(self._ids)
        self._serial_of[story_id] = serial
        self._ids.append(story_id)
        self._published.append(published)
        self._sizes.append(len(keys))
        recent = self._recent
        for key in keys:
            if recent.setdefault(key, serial) != serial:
                self._recent_more.setdefault(key, []).append(serial)
        self._recent_keys.extend(keys)
        self._recent_serials.extend([serial] * len(keys))
        self._entries += len(keys)
        if len(self._recent_keys) >= MERGE_AT:
            self._merge()

    def remove(self, story_id: str) -> None:
        serial = self._serial_of.pop(story_id, None)
        if serial is not None:
            self._entries -= self._sizes[serial]  # its entries go at the next merge; lookups skip them

    def candidates(self, keys: list[int], horizon: float) -> list[str]:
        """The stories of each key's bucket, live at ``horizon`` (published at or after it), key by key."""
        stored, wanted = self._keys, np.array(keys, dtype=np.uint64)
        starts = stored.searchsorted(wanted)
        # Nearly every key of a new story is in no bucket: only those found go on in Python.
        present = np.zeros(len(keys), dtype=bool)
        if len(stored):
            present = stored[np.minimum(starts, len(stored) - 1)] == wanted
        hits = dict(zip(np.flatnonzero(present).tolist(), starts[present].tolist(), strict=True))
        recent = self._recent
        found: list[str] = []
        for position, key in enumerate(keys):
            start = hits.get(position)
            if start is None and key not in recent:
                continue
            serials: list[int] = []
            if start is not None:
                end = start + 1
                while end < len(stored) and stored[end] == key:
                    end += 1
                serials = self._serials[start:end].tolist()
            if key in recent:
                serials += [recent[key], *self._recent_more.get(key, ())]
            live = [s for s in serials if self._published[s] >= horizon and self._live(s)]
            if len(live) > MAX_BUCKET:
                live = sorted(live, key=lambda s: (self._published[s], self._ids[s]))[-MAX_BUCKET:]
            found += [self._ids[s] for s in live]
        return found

    def entries(self) -> set[tuple[int, str]]:
        """Every (band key, story id) of live stories: what two indexes must agree on."""
        pairs = list(zip(self._keys.tolist(), self._serials.tolist(), strict=True))
        pairs += zip(self._recent_keys, self._recent_serials, strict=True)
        return {(k, self._ids[s]) for k, s in pairs if self._live(s)}

    def _live(self, serial: int) -> bool:
        """Not removed, and not an earlier entry of an id added again."""
        return self._serial_of.get(self._ids[serial]) == serial

    def _merge(self) -> None:
        """Fold the recent keys into the arrays, drop removed stories, renumber the live ones from 0."""
        keys = np.concatenate((self._keys, np.frombuffer(self._recent_keys, dtype=np.uint64)))
        serials = np.concatenate((self._serials, np.frombuffer(self._recent_serials, dtype=np.int64)))
        renumber = np.full(len(self._ids), -1, dtype=np.int64)
        live = sorted(self._serial_of.values())
        renumber[live] = np.arange(len(live))
        serials = renumber[serials]
        kept = serials >= 0
        keys, serials = keys[kept], serials[kept]
        order = np.argsort(keys, kind="stable")
        self._keys, self._serials = keys[order], serials[order]
        self._ids = [self._ids[s] for s in live]
        self._published = [self._published[s] for s in live]
        self._sizes = [self._sizes[s] for s in live]
        self._serial_of = {story: serial for serial, story in enumerate(self._ids)}
        self._recent, self._recent_more = {}, {}
        self._recent_keys, self._recent_serials = array("Q"), array("q")
