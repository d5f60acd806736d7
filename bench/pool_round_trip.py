"""A batch's round trip to the prepare pool and back, through the pipes as Linux makes them (64 KB)
and as the worker widens them (``prepare_pool.widen_pipes``), while another thread keeps the GIL
busy as the worker's event loop does under a backlog (``make bench``).

The pool's function here only doubles its input, so the figures are the crossing alone: a batch
of 64 bench-sized articles (3.3 KB each) goes out, and twice that comes back, about what the
tagged articles' JSON weighs against the raw messages.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import statistics
import threading
import time
from concurrent.futures import ProcessPoolExecutor

from sahelwatch.streaming.prepare_pool import widen_pipes


def doubled(batch: list[bytes]) -> list[bytes]:
    return [message * 2 for message in batch]


def round_trips(widened: bool, batch: list[bytes], count: int) -> tuple[float, float]:
    """Milliseconds a round trip and context switches of this process a round trip."""
    executor = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
    executor.submit(doubled, []).result()  # started
    if widened:
        widen_pipes(executor)
    stop = threading.Event()

    def event_loop() -> None:
        while not stop.is_set():
            sum(range(1000))

    busy = threading.Thread(target=event_loop)
    busy.start()
    before, started = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for _ in range(count):
        executor.submit(doubled, batch).result()
    seconds, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
    stop.set()
    busy.join()
    executor.shutdown()
    switches = (after.ru_nvcsw + after.ru_nivcsw) - (before.ru_nvcsw + before.ru_nivcsw)
    return 1000 * seconds / count, switches / count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=64, help="messages a batch")
    parser.add_argument("--bytes", type=int, default=3300, help="bytes a message")
    parser.add_argument("--count", type=int, default=100, help="round trips a measurement")
    parser.add_argument("--runs", type=int, default=3, help="measurements of each, alternated")
    args = parser.parse_args()
    batch = [os.urandom(args.bytes) for _ in range(args.batch)]
    results: dict[bool, list[tuple[float, float]]] = {False: [], True: []}
    for _ in range(args.runs):
        for widened in (False, True):
            results[widened].append(round_trips(widened, batch, args.count))
    for widened, runs in results.items():
        name = "widened pipes" if widened else "64 KB pipes"
        ms = statistics.median(run[0] for run in runs)
        switches = statistics.median(run[1] for run in runs)
        print(f"pool round trip, {name}: {ms:.1f} ms a batch of {args.batch}, {switches:.0f} context switches")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
