"""Repeated log records, rate limited: a broker outage must not flood the worker's log.

While the broker is down, aiokafka 0.14 logs every failed connection and metadata refresh
at ERROR, and its producer's sender retries in a tight loop while partition leaders are
unknown: thousands of identical lines a second, which bury everything else and fill disks.
Faust warns "producer buffer full size 237" each time its flow control holds the streams while
table changelog records wait to be sent, which a worker draining a backlog does hundreds of times
a minute. One line every few seconds, with a count of what was left out, says the same.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

INTERVAL = 5.0  # seconds
#: Above this many (logger, template) pairs, the expired ones are forgotten: the table stays small
#: even if a logger formats its own messages (each then a template of its own).
MAX_KEYS = 1024
_NUMBERS = re.compile(r"\d+")


@dataclass
class _Window:
    opened: float
    suppressed: int = 0


class RateLimit(logging.Filter):
    """At most one record per ``interval`` seconds for each (logger name, message template), for
    records at ``level`` and above; the first to pass after some were held back says how many.

    Keyed by template, not formatted message, so "Unable connect to node with id %s: %s" is one
    message whatever its arguments; numbers in a template count as arguments, for the loggers that
    format their own messages. Records below ``level`` pass untouched: debugging output is wanted
    whole, and informational lines are state changes, not retries.
    """

    def __init__(
        self, interval: float = INTERVAL, level: int = logging.WARNING, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.interval, self.level, self._clock = interval, level, clock
        self._windows: dict[tuple[str, str], _Window] = {}
        self._lock = threading.Lock()  # a filter runs in whichever thread logs

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        key, now = (record.name, _NUMBERS.sub("#", str(record.msg))), self._clock()
        with self._lock:
            window = self._windows.get(key)
            if window is not None and now - window.opened < self.interval:
                window.suppressed += 1
                return False
            if len(self._windows) >= MAX_KEYS:
                self._windows = {k: w for k, w in self._windows.items() if now - w.opened < self.interval}
            self._windows[key] = _Window(now)
        if window is not None and window.suppressed:
            plural = "s" if window.suppressed > 1 else ""
            record.msg = f"{record.getMessage()} ({window.suppressed} similar message{plural} suppressed)"
            record.args = ()
        return True


def limit_repeats(package: str = "aiokafka", interval: float = INTERVAL) -> RateLimit:
    """Install one RateLimit on the ``package`` logger and on each of its descendants.

    A logger's filters see only the records logged on it, not those its children propagate, so
    every module logger gets the filter: the package is imported first, which creates them.
    """
    importlib.import_module(package)
    limit = RateLimit(interval)
    names = [n for n in logging.root.manager.loggerDict if n.startswith(f"{package}.")]
    for name in [package, *names]:
        logging.getLogger(name).addFilter(limit)
    return limit
