"""The worker's prepare pool: outcomes in input order, refusals picklable, a dead process survived."""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
from datetime import UTC, datetime
from pathlib import Path

import orjson

from sahelwatch.config import Settings
from sahelwatch.core.intake import Rejected
from sahelwatch.core.model import Origin
from sahelwatch.streaming.prepare_pool import Prepared, PreparePool

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
