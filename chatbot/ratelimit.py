"""How often one client may send: a sliding-window limit per key, kept in this process's memory.

Every customer message costs model time (retrieval, sentiment, perhaps generation), so a script hammering the chat
endpoint slows every other customer down. The service limits messages per conversation and per network address.
The counts live in memory: with several replicas each keeps its own, so behind a load balancer with sticky
sessions (DESIGN.md) a client meets the same limit, and without them at most one limit per replica.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable

from chatbot.errors import RateLimitedError


class RateLimiter:
    """At most `limit` events per `window_s` seconds for each key; `limit` 0 means no limit.

    Usage example:
    ```python
    limiter = RateLimiter(limit=12, window_s=60.0)
    limiter.hit("conversation:3f2a...")  # raises RateLimitedError on the 13th message within a minute
    ```

    Args:
        limit (`int`): events allowed per window and key; 0 turns the limit off.
        window_s (`float`, *optional*, defaults to `60.0`): the window's length in seconds.
        clock (`Callable[[], float]`, *optional*, defaults to `time.monotonic`): seconds; tests pass their own.
        max_keys (`int`, *optional*, defaults to `100_000`): keys kept before idle ones are dropped (memory bound:
            about 100 bytes per event).
    """

    def __init__(
        self,
        limit: int,
        window_s: float = 60.0,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        if limit < 0:
            raise ValueError(f"limit must be 0 (no limit) or more, got {limit}")
        if window_s <= 0:
            raise ValueError(f"window_s must be greater than 0, got {window_s}")
        if max_keys < 1:
            raise ValueError(f"max_keys must be at least 1, got {max_keys}")
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._max_keys = max_keys
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()  # Gradio runs handlers in worker threads

    def hit(self, key: str) -> None:
        """Count one event for `key`, or raise `RateLimitedError` (and count nothing) when the window is full."""
        if not self.limit:
            return
        with self._lock:
            now = self._clock()
            events = self._events.get(key)
            if events is None:
                if len(self._events) >= self._max_keys:
                    self._forget_idle(now)
                events = self._events[key] = deque()
            while events and events[0] <= now - self.window_s:
                events.popleft()
            if len(events) >= self.limit:
                retry_after = math.ceil(events[0] + self.window_s - now)
                raise RateLimitedError(
                    f"{key} sent {len(events)} messages in the last {self.window_s:g} s; the limit is {self.limit}. "
                    f"Try again in {retry_after} s",
                    retry_after_s=retry_after,
                )
            events.append(now)

    def _forget_idle(self, now: float) -> None:
        # Drop keys with no event inside the window; if every key is active, drop the oldest-started half.
        idle = [key for key, events in self._events.items() if not events or events[-1] <= now - self.window_s]
        for key in idle:
            del self._events[key]
        if len(self._events) >= self._max_keys:
            for key in list(self._events)[: len(self._events) // 2 + 1]:
                del self._events[key]
