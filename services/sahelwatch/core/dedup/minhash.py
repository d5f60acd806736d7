"""MinHash signatures of word 3-gram shingles, and LSH band keys to find candidates.

Chosen over SimHash by measurement (``make bench``): an added or removed
paragraph moves Jaccard similarity predictably (about 0.8 for one paragraph in
six), where SimHash's Hamming distance scatters, and a trimmed ending is caught
by containment, which MinHash with the set sizes can estimate.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

LEAD_SHINGLES = 30  # the opening words: where two pages sharing site furniture still differ
NUM_PERM = 64
BANDS = 32  # 2 rows a band: a pair at Jaccard 0.25 (a copy cut by a third) is a candidate 87% of the time
ROWS = NUM_PERM // BANDS
MIN_SHINGLES = 15  # below this a text is too short to call a near copy of anything

_rng = np.random.default_rng(20230726)  # fixed: signatures must agree across workers and restarts
_A = _rng.integers(1, 2**63, size=NUM_PERM, dtype=np.uint64) | np.uint64(1)
_B = _rng.integers(0, 2**63, size=NUM_PERM, dtype=np.uint64)
_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(0x165667B19E3779F9))
_BAND_MIX = _rng.integers(1, 2**63, size=ROWS + 1, dtype=np.uint64) | np.uint64(1)
_BAND_NUMBERS = np.arange(BANDS, dtype=np.uint64)
TOKEN_MEMO_SIZE = 100_000  # words of a few weeks of news; about 20 MB, cleared when full
_token_hashes: dict[str, int] = {}
_EMPTY = np.zeros(0, dtype=np.uint64)


@dataclass(frozen=True, slots=True, eq=False)
class Signature:
    """MinHash values, the shingle count and the opening shingles (persisted); the full set (not persisted).

    Values and lead are 32-bit numpy arrays: the deduplicator keeps one signature per live story in
    memory and compares a new article with every story sharing a band, so both must be small and fast.
    """

    values: np.ndarray
    shingles: int
    lead: np.ndarray
    shingle_set: np.ndarray | None = field(default=None, repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signature:
        return cls(np.array(data["sig"], dtype=np.uint32), data["n"], np.array(data["lead"], dtype=np.uint32))

    def to_json(self) -> dict[str, Any]:
        return {"sig": self.values.tolist(), "n": self.shingles, "lead": self.lead.tolist()}

    def to_bytes(self) -> bytes:
        """Compact form for a Kafka header: the shingle count, the values, the lead (32-bit little-endian each)."""
        words = np.concatenate(([self.shingles], self.values, self.lead)).astype("<u4")
        return words.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Signature:
        words = np.frombuffer(data, dtype="<u4").astype(np.uint32)
        if len(words) < 1 + NUM_PERM:
            raise ValueError(f"a MinHash signature needs at least {4 * (1 + NUM_PERM)} bytes, got {len(data)}")
        return cls(words[1 : 1 + NUM_PERM], int(words[0]), words[1 + NUM_PERM :])

    def with_set_of(self, text: str) -> Signature:
        """This signature with its text's full shingle set, which only a lead check needs."""
        return Signature(self.values, self.shingles, self.lead, _shingles(text)[1])

    def jaccard(self, other: Signature) -> float:
        """Estimated Jaccard similarity of the two shingle sets."""
        return int(np.count_nonzero(self.values == other.values)) / NUM_PERM

    def containment(self, other: Signature) -> float:
        """Estimated share of the smaller set found in the larger: 1.0 for a trimmed copy."""
        j = self.jaccard(other)
        intersection = j * (self.shingles + other.shingles) / (1 + j)
        return min(1.0, intersection / min(self.shingles, other.shingles))

    def lead_found_in(self, other: Signature) -> float:
        """Share of this text's opening shingles present anywhere in ``other`` (which must hold its set).

        Pages of one site share menus and teaser headlines, which can make two
        different stories look alike; a copy keeps the story's opening.
        """
        if other.shingle_set is None or not len(self.lead):
            return 0.0
        positions = np.minimum(np.searchsorted(other.shingle_set, self.lead), len(other.shingle_set) - 1)
        return float((other.shingle_set[positions] == self.lead).mean())  # the set is sorted (np.unique)

    def band_keys(self) -> list[int]:
        """One 64-bit key per band, mixing the band's rows and its number: equal keys, likely equal rows.

        A rare collision only adds a candidate, which the Jaccard check then turns away.
        """
        rows = self.values.astype(np.uint64).reshape(BANDS, ROWS)
        keys = _BAND_NUMBERS * _BAND_MIX[ROWS]
        for row in range(ROWS):
            keys = keys + rows[:, row] * _BAND_MIX[row]
        return keys.tolist()  # type: ignore[no-any-return]  # numpy's tolist is untyped


def signature(text: str) -> Signature | None:
    """The MinHash signature of a text, or None when it is too short to compare."""
    ordered, shingles = _shingles(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    permuted = (shingles[:, None] * _A[None, :] + _B[None, :]) >> np.uint64(32)
    return Signature(
        values=permuted.min(axis=0).astype(np.uint32),
        shingles=len(shingles),
        lead=ordered[:LEAD_SHINGLES].astype(np.uint32),
        shingle_set=shingles,
    )


def _shingles(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The text's word 3-gram hashes in text order, and as a sorted set."""
    tokens = text.casefold().split()  # punctuation stays on words: copies keep it too, and splitting is fast
    if len(tokens) < MIN_SHINGLES + 2:
        return _EMPTY, _EMPTY
    hashes = np.array(_token_hashes_of(tokens), dtype=np.uint64)
    ordered = (hashes[:-2] * _MIX[0] + hashes[1:-1] * _MIX[1] + hashes[2:] * _MIX[2]) >> np.uint64(32)
    shingles = np.sort(ordered)
    return ordered, shingles[np.concatenate(([True], shingles[1:] != shingles[:-1]))]  # np.unique, without its overhead


def _token_hashes_of(tokens: list[str]) -> list[int]:
    """Stable 32-bit token hashes (Python's own hash() differs between processes), memoised.

    A memo lookup a token, and a call only for a new one (or one whose hash is 0): a third
    faster than finding the new tokens with a set difference first.
    """
    known = _token_hashes.get
    return [known(token) or _token_hash(token) for token in tokens]


def _token_hash(token: str) -> int:
    if len(_token_hashes) >= TOKEN_MEMO_SIZE:
        _token_hashes.clear()
    value = _token_hashes[token] = zlib.crc32(token.encode())
    return value
