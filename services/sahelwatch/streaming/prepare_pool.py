"""Decoding, cleaning and tagging in worker processes, so that one worker uses more than one core.

``Preparation.prepare`` is pure CPU and needs no state, while the event loop also
moves every record in and out of Kafka and runs the single-partition dedup and
alert stage; in one process the two took turns on one core. Messages go to the
pool in batches (one pickled call per batch, not per article) and come back as
the tagged article's JSON, ready to send, with its MinHash signature (a tenth of
the dedup stage's CPU, moved off the event loop), or as the reason to refuse them.

Only the pool processes load the cleaning and tagging code (see ``_start``).

A message that kills its process (a crash in a C extension, the kernel's
out-of-memory killer) breaks the whole pool: the batch is then prepared again
one message at a time in a new pool, so only that message is refused.
"""

from __future__ import annotations

import asyncio
import fcntl
import gc
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import orjson

from sahelwatch.config import Settings
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import Origin
from sahelwatch.core.pipeline import minhash

if TYPE_CHECKING:
    from sahelwatch.core.preparation import Preparation

log = logging.getLogger(__name__)

PARENT_CHECK_SECONDS = 1.0
#: What a batch's pipes hold at once: a batch of 64 bench articles is about 210 KB to the pool and 420 KB back.
PIPE_BYTES = 2**20


@dataclass(frozen=True, slots=True)
class Prepared:
    article_id: str
    value: bytes  # the tagged article as JSON
    clean_seconds: float
    tag_seconds: float
    path: str  # how its text was extracted
    minhash: bytes  # its MinHash signature (Signature.to_bytes), empty when the body is too short


Outcome = Prepared | Rejected
Batch = list[tuple[bytes, Origin]]

_preparation: Preparation | None = None  # one per pool process, built when it starts
_WARM_UP_TEXT = (
    "Niamey: ECOWAS chiefs of defence met on Thursday as the junta in Niger and the governments of Mali and "
    "Burkina Faso warned against any military intervention. Les putschistes ont fermé l'espace aérien. "
)
_WARM_UP = [
    orjson.dumps(
        {
            "id": "warm-up",
            "url": "https://example.org/warm-up",
            "title": "Warm-up",
            "source": "example.org",
            "published_at": "2023-08-01T00:00:00Z",
            **page,
        }
    )
    for page in (
        {"body": _WARM_UP_TEXT * 4},
        {"html": f"<html><body><article><p>{_WARM_UP_TEXT * 4}</p></article></body></html>"},
    )
]


def _start(settings: Settings) -> None:
    """Build the process's preparation. Its module is imported here and not at the top, so that the
    worker process, which imports this one to run the pool, does not load the cleaning libraries
    and the tagger it never uses (tests/unit/test_architecture.py checks it)."""
    from sahelwatch.core.preparation import Preparation

    global _preparation
    _preparation = Preparation(settings.max_message_bytes)
    for sample in _WARM_UP:  # first uses load models and compile patterns: not on the first real articles
        prepare(_preparation, sample, datetime.now(UTC), Origin("warm-up", 0, 0, None))
    # What exists now (modules, models, the tagger) lives as long as the process: kept out of the
    # garbage collector's full passes, which walked it for 20 to 30 ms each (seen in bench/stream.py runs).
    gc.freeze()
    threading.Thread(target=_exit_with, args=(os.getppid(),), name="exit-with-worker", daemon=True).start()


def _exit_with(worker: int) -> None:
    """A pool process outlives a worker killed with SIGKILL (nothing tells it): it ends itself instead."""
    while os.getppid() == worker:
        time.sleep(PARENT_CHECK_SECONDS)
    os._exit(0)


def _prepare_batch(batch: Batch, received_at: datetime) -> list[Outcome]:
    assert _preparation is not None, "the pool process was not started with _start"
    return [prepare(_preparation, raw, received_at, origin) for raw, origin in batch]


def prepare(preparation: Preparation, raw: bytes, received_at: datetime, origin: Origin) -> Outcome:
    """One message, whatever it holds: a stage bug refuses that message and keeps the worker going."""
    timings: dict[str, float] = {}
    try:
        article = preparation.prepare(raw, received_at, origin, timings)
        value = orjson.dumps(article.to_json())
    except Rejected as exc:
        return exc
    except Exception as exc:
        log.exception("stage failed on a record; sending it to the dead-letter topic")
        return Rejected("processing_error", f"{type(exc).__name__}: {exc}")
    sig = minhash(article)
    encoded = b"" if sig is None else sig.to_bytes()
    return Prepared(article.id, value, timings["clean"], timings["tag"], article.text.path, encoded)


class PreparePool:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._executor = self._new_executor()

    async def start(self) -> None:
        """Start the processes and load the knowledge files now, not on the first article."""
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, _prepare_batch, [], datetime.now(UTC))

    def _new_executor(self) -> ProcessPoolExecutor:
        # spawn, not fork: the worker's threads (RocksDB, Faust's consumer thread) must not be copied mid-flight
        executor = ProcessPoolExecutor(
            self._settings.intake_processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start,
            initargs=(self._settings,),
        )
        widen_pipes(executor)
        return executor

    async def prepare(self, batch: Batch, received_at: datetime) -> list[Outcome]:
        """The outcome of each message, in order. Safe to call for several batches at once."""
        executor = self._executor
        try:
            return await self._run(executor, batch, received_at)
        except BrokenProcessPool:
            log.error("a pool process died preparing a batch of %d messages; retrying them one by one", len(batch))
            self._replace(executor)
        outcomes: list[Outcome] = []
        for item in batch:
            executor = self._executor
            try:
                outcomes += await self._run(executor, [item], received_at)
            except BrokenProcessPool:
                outcomes.append(Rejected("processing_error", "the process preparing this message died"))
                self._replace(executor)
        return outcomes

    async def _run(self, executor: ProcessPoolExecutor, batch: Batch, received_at: datetime) -> list[Outcome]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(executor, _prepare_batch, batch, received_at)

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        """A broken pool refuses every later call. The batches it was preparing all see it break:
        the first of them replaces it, and the others use that replacement."""
        if self._executor is not broken:
            return
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


def widen_pipes(executor: ProcessPoolExecutor) -> None:
    """Let a whole batch sit in the pipes to and from the pool, instead of Linux's 64 KB.

    A batch then crosses in one write and one read. Through 64 KB pipes the pool's
    process blocked every 64 KB until the worker's result-reading thread read the
    chunk, and each read needed the worker's GIL, which its event loop holds for up
    to the 5 ms switch interval: a round trip of a bench-sized batch took 44 ms
    against 22 to 25 ms with 1 MB pipes, while another thread kept the GIL busy
    (``bench/pool_round_trip.py``). The limit is the system's (``/proc/sys/fs/pipe-max-size``,
    1 MB by default); elsewhere than on Linux, or past that limit, the pipes stay as they are.
    """
    if not hasattr(fcntl, "F_SETPIPE_SZ"):
        return
    pipes = (executor._call_queue._writer, executor._result_queue._reader)  # type: ignore[attr-defined]
    for pipe in pipes:
        try:
            fcntl.fcntl(pipe.fileno(), fcntl.F_SETPIPE_SZ, PIPE_BYTES)
        except OSError as exc:
            log.warning("the prepare pool's pipes keep their size (%s): batches cross them in pieces", exc)
            return
