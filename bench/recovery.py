"""How long a worker whose local store is gone takes to rebuild its tables from their changelogs.

A replaced machine or a lost volume starts a worker with an empty store: it
reads the dedup and alert changelogs back before it serves (``/health`` says
``recovering`` until then). This runs a worker over ``--articles`` articles of
the bench workload, stops it, deletes its store, starts it again and prints the
seconds until ``/health`` is ready. Run on the local broker
(``deploy/with-kafka.sh .venv/bin/python bench/recovery.py``), with the topics,
workers and workload of ``bench/stream.py``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import uuid

from stream import CORPUS, ROOT, SAHELWATCH, Broker, Process, free_port, outputs, publish, worker_env, workload


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=30_000, help="articles processed before the store is deleted")
    parser.add_argument("--broker", default=os.environ.get("SAHELWATCH_BROKER", "127.0.0.1:9092"))
    args = parser.parse_args()
    if not CORPUS.is_file():
        print(f"recovery bench skipped: the background corpus is not at {CORPUS}")
        return 0
    folder = ROOT / ".local" / "bench" / "recovery-run"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    inputs = workload(args.articles)
    broker = Broker(args.broker, uuid.uuid4().hex[:6])
    try:
        settings = broker.topics("recovery")
        publish(broker.address, settings.topics.raw, inputs)
        port = free_port()
        env = worker_env(broker.address, settings, broker.app_id("recovery"), folder / "store", port)
        worker = Process([SAHELWATCH, "worker"], env, port, folder / "worker.log")
        try:
            while broker.count(*outputs(settings)) < len(inputs):
                worker.ready()  # started, and still running
                time.sleep(1)
        finally:
            worker.stop()
        shutil.rmtree(folder / "store")
        started = time.perf_counter()
        worker = Process([SAHELWATCH, "worker"], env, port, folder / "worker.log")
        try:
            worker.ready()
            seconds = time.perf_counter() - started
        finally:
            worker.stop()
    finally:
        broker.cleanup()
    print(f"store deleted after {len(inputs):,} articles: ready again in {seconds:.1f} s (start-up included)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
