"""The LSH band index: buckets of live stories, the same however it was built."""

from __future__ import annotations

import pytest

from sahelwatch.core.dedup import bands
from sahelwatch.core.dedup.bands import MAX_BUCKET, BandIndex


def test_a_key_finds_its_live_stories_and_not_removed_or_dead_ones() -> None:
    index = BandIndex()
    index.add("a", 100.0, [1, 2])
    index.add("b", 200.0, [2, 3])
    index.add("c", 300.0, [4])
    index.remove("c")
    assert index.candidates([2], horizon=0.0) == ["a", "b"]
    assert index.candidates([2], horizon=150.0) == ["b"]  # a is older than the retention horizon
    assert index.candidates([4, 5], horizon=0.0) == []
    assert len(index) == 4 and "c" not in index


def test_a_full_bucket_keeps_the_newest_stories() -> None:
    index = BandIndex()
    for n in range(MAX_BUCKET + 4):
        index.add(f"s{n:02}", float(n), [7])
    assert index.candidates([7], horizon=0.0) == [f"s{n:02}" for n in range(4, MAX_BUCKET + 4)]


def _build() -> BandIndex:
    index = BandIndex()
    for n in range(40):
        index.add(f"s{n}", float(n), [n % 7, 100 + n % 3, 1_000 + n])
        if n % 4 == 0:
            index.remove(f"s{n // 2}")
        if n == 30:
            index.add("s1", 30.5, [5])  # an id again, with other keys
    return index


@pytest.mark.parametrize("merge_at", [3, 5, 64])
def test_merges_change_nothing_that_lookups_see(monkeypatch: pytest.MonkeyPatch, merge_at: int) -> None:
    monkeypatch.setattr(bands, "MERGE_AT", 10**9)
    unmerged = _build()
    monkeypatch.setattr(bands, "MERGE_AT", merge_at)
    merged = _build()
    assert len(merged._keys) > 0 and len(unmerged._keys) == 0  # one was merged, the other never
    keys = [*range(7), 100, 101, 102, *range(1_000, 1_040)]
    for horizon in (0.0, 10.0, 35.0):
        assert merged.candidates(keys, horizon) == unmerged.candidates(keys, horizon)
    assert merged.entries() == unmerged.entries()
    assert len(merged) == len(unmerged) == 3 * len({s for _, s in merged.entries()}) - 2  # s1 has one key
    assert [s for _, s in merged.entries() if s == "s1"] == ["s1"]
