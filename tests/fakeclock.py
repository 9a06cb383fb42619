"""A clock for pacing tests (issue 9 point 23: no wall-clock timing): time passes only when
the code under test sleeps on it, so gaps measured on it are the sender's own decisions --
a slow machine can neither make them shorter nor longer. Give the same clock to the sender
(``clock=``, ``sleep=``) and to the fake that stamps arrivals."""
from __future__ import annotations

import asyncio


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)  # let the rest of the loop (the answers in flight) run, as a real wait would
