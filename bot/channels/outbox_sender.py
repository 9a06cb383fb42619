"""What every channel's outbox sender shares: the loop that drains it, woken after a dispatch
or polled when idle, and one short transaction per recorded outcome."""
from __future__ import annotations

import asyncio
import logging

from sqlalchemy.orm import Session, sessionmaker

from models.db import transaction

log = logging.getLogger("buurtbot.sender")


class OutboxSender:
    """Subclasses set ``name`` and ``sessions`` and implement ``drain_once() -> bool``."""

    name = "outbox"
    sessions: sessionmaker[Session]

    def __init__(self) -> None:
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Called after a dispatch wrote replies: send now rather than at the next poll."""
        self._wake.set()

    async def drain_once(self) -> bool:  # pragma: no cover - abstract
        raise NotImplementedError

    async def run(self, idle: float = 0.5) -> None:
        while True:
            try:
                worked = await self.drain_once()
            except Exception as exc:  # noqa: BLE001 - the sender must outlive one bad round
                log.error("%s sender round failed: %s", self.name, type(exc).__name__)
                worked = False
            if not worked:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=idle)
                except asyncio.TimeoutError:
                    pass

    def _record(self, change) -> None:
        with transaction(self.sessions) as session:
            change(session)
