"""The worker's prepare pool: outcomes in input order, refusals picklable, a dead process survived."""

from __future__ import annotations

import asyncio
import fcntl
import os
import pickle
import signal
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest

from sahelwatch.config import Settings
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import Origin
from sahelwatch.streaming.prepare_pool import PARENT_CHECK_SECONDS, PIPE_BYTES, Prepared, PreparePool

NOW = datetime(2023, 8, 1, 12, tzinfo=UTC)


def _article(n: int) -> bytes:
    return orjson.dumps(
        {
            "id": f"a{n}",
            "url": f"https://example.org/{n}",
            "title": "Niamey: the junta meets ECOWAS envoys",
            "published_at": "2023-08-01T10:00:00Z",
            "source": "example.org",
            "body": "The military junta in Niamey received envoys of ECOWAS on Tuesday. " * 5,
        }
    )


def _origin(n: int) -> Origin:
    return Origin("articles.raw", 0, n, None)


def test_a_refusal_crosses_processes_with_its_fields() -> None:
    copy = pickle.loads(pickle.dumps(Rejected("not_json", "invalid JSON", "x1")))
    assert (copy.reason, copy.message, copy.article_id) == ("not_json", "invalid JSON", "x1")


def test_outcomes_come_back_in_input_order_and_a_dead_process_loses_only_itself(tmp_path: Path) -> None:
    batch = [(_article(0), _origin(0)), (b"{not json", _origin(1)), (_article(2), _origin(2))]

    async def run() -> tuple[list[object], list[object]]:
        pool = PreparePool(Settings(data_dir=tmp_path))
        try:
            await pool.start()
            first = await pool.prepare(batch, NOW)
            for pid in list(pool._executor._processes):  # the kernel's OOM killer, say
                os.kill(pid, signal.SIGKILL)
            after_death = await pool.prepare(batch, NOW)
            return first, after_death
        finally:
            pool.close()

    for outcomes in asyncio.run(run()):
        assert [type(o) for o in outcomes] == [Prepared, Rejected, Prepared]
        first, refused, last = outcomes
        assert isinstance(first, Prepared) and isinstance(last, Prepared) and isinstance(refused, Rejected)
        assert (first.article_id, last.article_id, refused.reason) == ("a0", "a2", "not_json")
        tagged = orjson.loads(first.value)
        assert tagged["id"] == "a0" and "NE" in {c["code"] for c in tagged["countries"]}


def test_batches_prepared_at_once_survive_a_dead_process_with_one_new_pool(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both batches see the pool break: the first replaces it, and the second uses the replacement
    (starting a pool costs a second or two of CPU, and a second replacement would cancel what the
    first one's retries had queued)."""
    batch = [(_article(0), _origin(0)), (b"{not json", _origin(1))]
    pools: list[object] = []
    new_executor = PreparePool._new_executor

    def counted(self: PreparePool) -> ProcessPoolExecutor:
        pools.append(self)
        return new_executor(self)

    monkeypatch.setattr(PreparePool, "_new_executor", counted)

    async def run() -> list[list[object]]:
        pool = PreparePool(Settings(data_dir=tmp_path))
        try:
            await pool.start()
            for pid in list(pool._executor._processes):
                os.kill(pid, signal.SIGKILL)
            return list(await asyncio.gather(pool.prepare(batch, NOW), pool.prepare(batch, NOW)))
        finally:
            pool.close()

    for outcomes in asyncio.run(run()):
        assert [type(o) for o in outcomes] == [Prepared, Rejected]
    assert len(pools) == 2  # the first pool and one replacement


_WORKER = """
import asyncio, sys
from sahelwatch.config import Settings
from sahelwatch.streaming.prepare_pool import PreparePool

async def main():
    pool = PreparePool(Settings(data_dir=sys.argv[1]))
    await pool.start()
    print(*pool._executor._processes, flush=True)
    await asyncio.sleep(60)

asyncio.run(main())
"""


def test_the_pool_processes_end_when_their_worker_is_killed(tmp_path: Path) -> None:
    worker = subprocess.Popen([sys.executable, "-c", _WORKER, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    assert worker.stdout is not None
    children = [int(pid) for pid in worker.stdout.readline().split()]
    assert children and all(_alive(pid) for pid in children)
    worker.kill()  # SIGKILL: no shutdown code runs
    worker.wait()
    deadline = time.monotonic() + 10 * PARENT_CHECK_SECONDS
    while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in children)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has ended, waiting for its new parent to reap it


def test_a_whole_batch_fits_in_the_pipes_to_and_from_the_pool(tmp_path: Path) -> None:
    """So that it crosses in one write and one read (see widen_pipes)."""
    pool = PreparePool(Settings(data_dir=tmp_path))
    try:
        executor = pool._executor
        pipes = (executor._call_queue._writer, executor._result_queue._reader)  # type: ignore[attr-defined]
        sizes = [fcntl.fcntl(pipe.fileno(), fcntl.F_GETPIPE_SZ) for pipe in pipes]
    finally:
        pool.close()
    assert sizes == [PIPE_BYTES] * 2, "Linux's 64 KB otherwise"
    assert PIPE_BYTES >= 64 * 2 * 3300, "a batch of bench articles, on the way back"
