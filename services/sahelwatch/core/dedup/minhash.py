"""MinHash signatures of word 3-gram shingles, and LSH band keys to find candidates.

Chosen over SimHash by measurement (``make bench``): an added or removed
paragraph moves Jaccard similarity predictably (about 0.8 for one paragraph in
six), where SimHash's Hamming distance scatters, and a trimmed ending is caught
by containment, which MinHash with the set sizes can estimate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

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
_BAND_OFFSETS = np.arange(BANDS, dtype=np.uint64) * _BAND_MIX[ROWS]  # each band's number, mixed
_P = 0x100000001B3  # of the word hash: a word is the sum of its bytes (plus one) times _P to the power of their place
_ASCII_SPACE = np.zeros(256, dtype=bool)
_ASCII_SPACE[[ord(c) for c in " \t\n\v\f\r\x1c\x1d\x1e\x1f"]] = True  # str.isspace() below 128
_UNICODE_SPACE = re.compile("[\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]")  # and above
_EMPTY = np.zeros(0, dtype=np.uint64)


def _powers_up_to(count: int) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """``_P`` and its inverse modulo 2**64, to the powers 0 to ``count - 1``."""
    bases = np.empty((2, count), dtype=np.uint64)
    bases[:, 0] = 1
    bases[0, 1:] = _P
    bases[1, 1:] = pow(_P, -1, 2**64)
    powers = np.cumprod(bases, axis=1)  # uint64 products wrap modulo 2**64, as the hash wants
    return powers[0], powers[1]


_POWERS, _INVERSES = _powers_up_to(1 << 16)  # 1 MiB, for texts up to 64 KiB; a longer one makes its own


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
        keys = self.values.astype(np.uint64).reshape(BANDS, ROWS) @ _BAND_MIX[:ROWS]  # uint64: wraps, as wanted
        keys += _BAND_OFFSETS
        return keys.tolist()  # type: ignore[no-any-return]  # numpy's tolist is untyped


def signature(text: str) -> Signature | None:
    """The MinHash signature of a text, or None when it is too short to compare."""
    ordered, shingles = _shingles(text)
    if len(shingles) < MIN_SHINGLES:
        return None
    permuted = np.multiply.outer(_A, shingles)  # in place from here: three passes over one array, not three arrays
    permuted += _B[:, None]
    permuted >>= np.uint64(32)
    return Signature(
        values=permuted.min(axis=1).astype(np.uint32),
        shingles=len(shingles),
        lead=ordered[:LEAD_SHINGLES].astype(np.uint32),
        shingle_set=shingles,
    )


def _shingles(text: str) -> tuple[np.ndarray, np.ndarray]:
    """The text's word 3-gram hashes in text order, and as a sorted set."""
    hashes = _word_hashes(text.casefold())  # punctuation stays on words: copies keep it too
    if len(hashes) < MIN_SHINGLES + 2:
        return _EMPTY, _EMPTY
    ordered = (hashes[:-2] * _MIX[0] + hashes[1:-1] * _MIX[1] + hashes[2:] * _MIX[2]) >> np.uint64(32)
    shingles = np.sort(ordered)
    return ordered, shingles[np.concatenate(([True], shingles[1:] != shingles[:-1]))]  # np.unique, without its overhead


def _word_hashes(text: str) -> npt.NDArray[np.uint64]:
    """A stable 64-bit hash of each word of ``str.split()``, computed on the text's UTF-8 bytes at once.

    Splitting made a string object a word, and hashing looked each one up in a
    memo: 150 of the 270 µs a signature took. Here a word's hash is a
    polynomial of its bytes, ``_P`` to the power of the byte's place in the
    word, mixed; no string per word, and the same in every process. Each byte
    is weighed by its place in the whole text, and each word's sum then moved
    back to its own first place by the inverse power of its start (``_P`` is
    odd, so it has one modulo 2**64): no per-byte place within words to work
    out. (Until 2026-12-07 a place wrapped at 256 bytes, so a word longer than
    that, a URL or a blob, hashed differently then.) UTF-8 never puts an ASCII
    byte inside another character, so ASCII spaces are found byte by byte; a
    text with other Unicode spaces is split by Python first.
    """
    if not text.isascii() and _UNICODE_SPACE.search(text):
        text = " ".join(text.split())
    data = np.frombuffer(text.encode(), dtype=np.uint8)
    if not len(data):
        return _EMPTY
    space = _ASCII_SPACE[data]
    first = np.empty_like(space)  # the first byte of each word
    first[0] = True
    first[1:] = space[:-1]
    first &= ~space
    starts = np.flatnonzero(first)
    if not len(starts):
        return _EMPTY
    powers, inverses = (_POWERS, _INVERSES) if len(data) <= len(_POWERS) else _powers_up_to(len(data))
    terms = powers[: len(data)] * (data + np.uint64(1))
    terms[space] = 0
    hashes = np.add.reduceat(terms, starts)
    hashes *= inverses[starts]
    hashes ^= hashes >> np.uint64(33)  # the finaliser of MurmurHash3: every bit of a word moves the top 32
    hashes *= np.uint64(0xFF51AFD7ED558CCD)
    hashes ^= hashes >> np.uint64(33)
    return hashes
