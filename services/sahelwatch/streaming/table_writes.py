"""A table's writes during one dedup record, merged into one write a key when the record is done.

Every write to a Faust table is a store write and a changelog record: about 60 µs
of the worker's CPU, and a record for the broker to take. The alert stage moves
its watermark and counts into the same few alert keys for nearly every article,
so in a backlog, where a dedup record carries a whole intake batch of articles,
most of those writes are overwritten within the record. Buffered, a bench
article costs 2.2 changelog records instead of 3.8 (``bench/stream.py``'s
workload in records of 64).

The record is acknowledged only after its writes are flushed (``batches.each_event``
acknowledges after the body of the loop). A record whose handling raised or was
cancelled has its writes flushed all the same (``with`` the buffered tables), as they were when each was made
at once: the articles it handled, whose outputs may have left, keep their
verdicts, and when the record is read again they get the same ones as
redeliveries. Keys are flushed in the order of their last write, so a crash
that keeps only the first records of a flush keeps the final values of the
keys written earliest, as it kept the earliest writes before: a duplicate's id
pointer still reaches the changelog before the URL and body pointers written
after it (see ``Deduplicator._redelivery``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

_DELETED = object()
_ABSENT = object()


class BufferedTable(MutableMapping[str, Any]):
    """Reads see the writes made since the last ``flush``; the table sees them only at ``flush``.

    Reads of the table go to ``store`` when it is given, a Faust table's ``data``: the table's
    own ``get`` of a present key reads its store twice (``in``, then the value), a RocksDB read
    each, and a dedup record reads a few hundred present keys (stories it matched or expires,
    alert windows).
    """

    def __init__(self, table: MutableMapping[str, Any], store: Mapping[str, Any] | None = None) -> None:
        self._table = table
        self._reads: Mapping[str, Any] = table if store is None else store
        self._writes: dict[str, Any] = {}  # key -> value or _DELETED, in the order of the last write

    def get(self, key: str, default: Any = None) -> Any:
        value = self._writes.get(key, _ABSENT)
        if value is _ABSENT:
            return self._reads.get(key, default)
        return default if value is _DELETED else value

    def __getitem__(self, key: str) -> Any:
        value = self._writes.get(key, _ABSENT)
        if value is _ABSENT:
            return self._reads[key]
        if value is _DELETED:
            raise KeyError(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._writes.pop(key, None)
        self._writes[key] = value

    def __delitem__(self, key: str) -> None:
        pending = self._writes.get(key, _ABSENT)
        if pending is _DELETED:
            raise KeyError(key)
        in_table = key in self._reads
        if pending is _ABSENT and not in_table:
            raise KeyError(key)
        self._writes.pop(key, None)
        if in_table:  # a key written and deleted since the last flush, never in the table, leaves no trace
            self._writes[key] = _DELETED

    def __iter__(self) -> Iterator[str]:
        yield from (key for key in self._table if key not in self._writes)
        yield from (key for key, value in self._writes.items() if value is not _DELETED)

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def __enter__(self) -> BufferedTable:
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Flushes whether the block ended or was cut short: see the module's docstring."""
        self.flush()

    def flush(self) -> int:
        """Write what changed to the table, once a key; returns how many writes that was."""
        writes, self._writes = self._writes, {}
        for key, value in writes.items():
            if value is _DELETED:
                del self._table[key]
            else:
                self._table[key] = value
        return len(writes)
