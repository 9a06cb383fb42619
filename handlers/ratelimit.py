"""Per-sender flood protection, before any database work.

More than ``limit`` messages in ``window`` seconds: the next one earns one polite "slow
down", the rest are dropped until the sender's window has room again. Each sender has its
own window, so one busy person never slows anybody else.

What protects a person is never dropped: a message the caller marks ``protective`` (an
emergency, /stop, /delete, STOP, START -- see handlers.keywords.protective) is always let
through, and so is the sender's next message: the answer to the question it asked ("delete
everything?" -- "ja").
"""
from __future__ import annotations

import threading
import time
from collections import deque

OK, WARN, DROP = "ok", "warn", "drop"


class RateLimiter:
    def __init__(self, limit: int = 20, window: float = 60.0, clock=time.monotonic) -> None:
        self.limit, self.window, self.clock = limit, window, clock
        self._hits: dict[object, deque[float]] = {}
        self._warned: set[object] = set()
        self._pass_next: set[object] = set()
        self._lock = threading.Lock()
        self._last_sweep = clock()

    def hit(self, key: object, protective: bool = False) -> str:
        now = self.clock()
        with self._lock:
            if now - self._last_sweep > self.window:
                self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if protective or key in self._pass_next:
                hits.append(now)  # it counts, but it is never held back
                if protective:
                    self._pass_next.add(key)
                else:
                    self._pass_next.discard(key)
                return OK
            if len(hits) < self.limit:
                hits.append(now)
                self._warned.discard(key)
                return OK
            if key in self._warned:
                return DROP
            self._warned.add(key)
            return WARN

    def _sweep(self, now: float) -> None:
        """Forget senders who have been quiet for a whole window: memory stays bounded."""
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window]:
            del self._hits[key]
            self._warned.discard(key)
            self._pass_next.discard(key)
        self._last_sweep = now
