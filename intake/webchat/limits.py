"""A sliding-window rate limit per key (a visitor, an address), kept in memory.

A web chat is open to anyone; one visitor or one script must not be able to fill the queue.
Memory is bounded: keys whose window has emptied are dropped as they are seen.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class RateLimit:
    def __init__(self, limit: int, window_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window_seconds
        self.clock = clock
        self.hits: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Count one attempt for key; False when the key has used its allowance in the window."""
        now = self.clock()
        with self.lock:
            recent = self.hits.setdefault(key, deque())
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if len(recent) >= self.limit:
                return False
            recent.append(now)
            if len(self.hits) > 10_000:
                for stale in [k for k, v in self.hits.items() if not v or v[-1] <= now - self.window]:
                    del self.hits[stale]
            return True
