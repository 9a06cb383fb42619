"""One AsyncIOScheduler per process with a few ticks. Misfire and coalescing are explicit:
APScheduler's default grace of one second would silently skip a late tick."""
from __future__ import annotations

import logging
from datetime import datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.orm import Session, sessionmaker

from handlers.core import STEP_TTL
from models.base import TZ, utcnow
from models.db import transaction
from scheduler.ticks import expire_requests, forget_walked_away

log = logging.getLogger("buurtbot.scheduler")


class Ticks:
    def __init__(self, sessions: sessionmaker[Session], tick_seconds: int = 30, expiry_days: int = 14) -> None:
        self.sessions, self.expiry_days = sessions, expiry_days
        self.last_tick: datetime | None = None
        defaults = {"misfire_grace_time": tick_seconds * 4, "coalesce": True, "max_instances": 1}
        self.scheduler = AsyncIOScheduler(timezone=TZ, job_defaults=defaults)
        self.scheduler.add_job(self.tick, "interval", seconds=tick_seconds, id="sweep", next_run_time=utcnow(),
                               **defaults)

    def tick(self) -> None:
        with transaction(self.sessions) as session:
            expired = expire_requests(session, utcnow(), self.expiry_days)
            forgotten = forget_walked_away(session, utcnow(), STEP_TTL)
        if expired:
            log.info("expired %d requests", expired)
        if forgotten:
            log.info("forgot what %d newcomers who walked away had written", forgotten)
        self.last_tick = utcnow()

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def health(self) -> dict:
        return {"running": self.scheduler.running,
                "last_tick": self.last_tick.isoformat() if self.last_tick else None}
