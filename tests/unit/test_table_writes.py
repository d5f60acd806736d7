"""The dedup stage's buffered table writes: reads see them at once, the table once a key at the flush."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

import pytest

from sahelwatch.streaming.table_writes import BufferedTable


class RecordingTable(MutableMapping[str, Any]):
    """A table that logs each write and delete, as a Faust table sends each to its changelog."""

    def __init__(self, **data: Any) -> None:
        self.data = dict(data)
        self.log: list[tuple[str, Any]] = []

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.data[key] = value
        self.log.append((key, value))

    def __delitem__(self, key: str) -> None:
        del self.data[key]  # a memory store raises KeyError for a key it lacks
        self.log.append((key, None))

    def __iter__(self) -> Iterator[str]:
        return iter(self.data)

    def __len__(self) -> int:
        return len(self.data)


def test_reads_see_the_writes_before_the_table_does() -> None:
    table = RecordingTable(kept="old", dropped="old")
    buffered = BufferedTable(table)
    buffered["kept"] = "new"
    buffered["added"] = 1
    del buffered["dropped"]
    assert (buffered["kept"], buffered.get("added"), buffered.get("dropped", "gone")) == ("new", 1, "gone")
    assert "dropped" not in buffered
    assert dict(buffered.items()) == {"kept": "new", "added": 1} and len(buffered) == 2
    assert table.data == {"kept": "old", "dropped": "old"} and table.log == []


def test_a_flush_writes_each_key_once_in_the_order_of_its_last_write() -> None:
    table = RecordingTable(watermark=0)
    buffered = BufferedTable(table)
    for article in range(3):
        buffered["watermark"] = article
        buffered[f"story:{article}"] = {"n": article}
    buffered["story:0"] = {"n": 0, "sources": 2}
    assert buffered.flush() == 4
    assert table.log == [
        ("story:1", {"n": 1}),
        ("watermark", 2),
        ("story:2", {"n": 2}),
        ("story:0", {"n": 0, "sources": 2}),
    ]
    assert buffered.flush() == 0 and len(table.log) == 4


def test_deletes_reach_the_table_only_for_keys_it_holds() -> None:
    table = RecordingTable(old="x")
    buffered = BufferedTable(table)
    buffered["passing"] = "y"
    del buffered["passing"]  # written and deleted within one flush: the table never hears of it
    del buffered["old"]
    buffered.flush()
    assert table.log == [("old", None)] and table.data == {}


def test_deleting_a_missing_key_raises_as_a_mapping_does() -> None:
    buffered = BufferedTable(RecordingTable(old="x"))
    with pytest.raises(KeyError):
        del buffered["never"]
    del buffered["old"]
    with pytest.raises(KeyError):
        del buffered["old"]
    with pytest.raises(KeyError):
        buffered["old"]
    assert buffered.flush() == 1


def test_leaving_a_with_block_flushes_even_when_it_was_cut_short() -> None:
    """The dedup stage handles a record inside ``with`` its buffered tables: the articles it handled before a
    failure keep their writes, as when each write was made at once, since their outputs may have left."""
    table = RecordingTable()
    buffered = BufferedTable(table)

    def handle_record() -> None:
        with buffered:
            buffered["handled"] = 1
            raise RuntimeError("the record's next article failed")

    with pytest.raises(RuntimeError, match="next article failed"):
        handle_record()
    assert table.log == [("handled", 1)]
    with buffered:
        buffered["next"] = 2
    assert table.log == [("handled", 1), ("next", 2)]


class TwiceReadTable(RecordingTable):
    """Reads its store twice a present key, as a Faust table does (``in``, then the value)."""

    def __init__(self, **data: Any) -> None:
        super().__init__(**data)
        self.reads = 0

    def __getitem__(self, key: str) -> Any:
        self.reads += 2
        return self.data[key]

    def __contains__(self, key: object) -> bool:
        self.reads += 1
        return key in self.data


def test_reads_go_to_the_store_when_one_is_given_and_writes_to_the_table() -> None:
    table = TwiceReadTable(story="s", gone="g")
    buffered = BufferedTable(table, store=table.data)
    assert (buffered.get("story"), buffered["story"], buffered.get("missing", "none")) == ("s", "s", "none")
    del buffered["gone"]
    buffered["added"] = 1
    buffered.flush()
    assert table.reads == 0
    assert table.log == [("gone", None), ("added", 1)] and table.data == {"story": "s", "added": 1}
    assert BufferedTable(table).get("story") == "s" and table.reads == 2  # without a store, the table's reads
