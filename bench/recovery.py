"""How long a worker whose local store is gone takes to rebuild its tables from their changelogs.

A replaced machine or a lost volume starts a worker with an empty store: it
reads the dedup and alert changelogs back before it serves (``/health`` says
``recovering`` until then). This runs a worker over ``--articles`` articles of
the bench workload, stops it, deletes its store, starts it again and prints the
seconds until ``/health`` is ready. Run on the local broker
(``deploy/with-kafka.sh .venv/bin/python bench/recovery.py``); its topics are
named after a fresh run id and left on the broker (``deploy/kafka/kafka.sh reset``
clears them).
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import time
import urllib.request
import uuid
from dataclasses import replace

from stream import ROOT, SAHELWATCH, free_port, publish, worker_env, workload  # bench/stream.py, next to this file

from sahelwatch.config import Settings, Topics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=30_000, help="articles processed before the store is deleted")
    parser.add_argument("--broker", default="127.0.0.1:9092")
    args = parser.parse_args()

    run = uuid.uuid4().hex[:8]
    defaults = Settings()
    topics = Topics(
        **{name: f"recovery-{run}-{getattr(defaults.topics, name)}" for name in Topics.__dataclass_fields__}
    )
    settings = replace(defaults, topics=topics)
    store = ROOT / ".local" / "bench" / f"recovery-{run}"
    port = free_port()
    env = os.environ | worker_env(args.broker, settings, f"recovery-{run}", store, port)
    subprocess.run([SAHELWATCH, "topics", "create"], env=env, check=True, capture_output=True)
    publish(args.broker, topics.raw, workload(args.articles))
    log = (store.parent / f"recovery-{run}.log").open("w")

    worker = subprocess.Popen([SAHELWATCH, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    while _outputs(port) < 0.98 * args.articles:  # the scenario articles' duplicates and late ones aside
        _check(worker)
        time.sleep(1)
    time.sleep(5)  # the last changelog writes and the commit
    _stop(worker)
    shutil.rmtree(store)

    started = time.perf_counter()
    worker = subprocess.Popen([SAHELWATCH, "worker"], env=env, stdout=log, stderr=subprocess.STDOUT)
    while not _ready(port):
        _check(worker)
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    _stop(worker)
    shutil.rmtree(store, ignore_errors=True)
    print(f"store deleted after {args.articles:,} articles: ready again in {seconds:.1f} s (start-up included)")


def _outputs(port: int) -> float:
    try:
        text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2).read().decode()
    except OSError:
        return 0.0
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith("sahelwatch_articles_output"))


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _check(worker: subprocess.Popen[bytes]) -> None:
    if worker.poll() is not None:
        raise SystemExit(f"the worker exited with {worker.returncode}")


def _stop(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    worker.wait(60)


if __name__ == "__main__":
    main()
