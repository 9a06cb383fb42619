"""One AsyncIOScheduler per process with one tick that runs every sweep. Misfire and coalescing
are explicit: APScheduler's default grace of one second would silently skip a late tick.

The schedules are rows (handlers.sweeps): any number of processes on one database run the same
tick, and the rows they claim keep them apart. Each sweep runs in transactions of its own --
called again while it returns a full BATCH -- so one sweep that fails (logged by name and
exception type, no personal data) neither undoes nor stops the others. Each run is recorded in
``sweep_runs`` (what /healthz reports across instances)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from handlers import cases, digest, dispatch, plans_due, quiet, reminders  # noqa: F401 -- importing them registers every sweep
from handlers.core import STEP_TTL
from handlers.sweeps import BATCH, SWEEPS
from models.base import TZ, utcnow
from models.db import transaction
from models.schedules import CheckinOccurrence, CheckinPlan, FollowUp, SweepRun, Timer
from scheduler.ticks import expire_requests, forget_walked_away

log = logging.getLogger("buurtbot.scheduler")
#: A sweep that keeps returning BATCH stops after this many calls in one tick (the next tick goes on).
MAX_ROUNDS = 1000


def configure(settings) -> None:
    """Settings the sweeps read as module constants (handlers never import bot.settings)."""
    plans_due.GRACE = settings.checkin_grace_minutes
    reminders.UNCLAIMED_HOURS = settings.unclaimed_alert_hours
    reminders.STILL_NEEDED_DAYS = settings.still_needed_days
    digest.DIGEST_WEEKDAY, digest.DIGEST_TIME = settings.digest_weekday, settings.digest_time
    cases.REFERRAL_REMIND_DAYS = settings.referral_remind_days
    quiet.DEFAULT_QUIET = tuple(settings.quiet_hours.split("-"))


def run_sweeps(sessions: sessionmaker[Session], now: datetime, expiry_days: int = 14) -> tuple[dict, list[str]]:
    """Every sweep once, as if at ``now``: {name: rows handled}, and the names of those that failed."""
    counts: dict[str, int] = {}
    failed: list[str] = []
    steps = {"expire_requests": lambda s, at: expire_requests(s, at, expiry_days),
             "forget_walked_away": lambda s, at: forget_walked_away(s, at, STEP_TTL), **SWEEPS}
    for name, fn in steps.items():
        total = 0
        try:
            for _ in range(MAX_ROUNDS):
                with transaction(sessions) as session:
                    handled = fn(session, now)
                total += handled
                if name not in SWEEPS or handled < BATCH:
                    break
        except Exception as exc:  # noqa: BLE001 -- one sweep's failure must not stop the others
            log.error("sweep %s failed: %s", name, type(exc).__name__)
            failed.append(name)
            continue
        counts[name] = total
    _record(sessions, counts)
    return counts, failed


def _record(sessions: sessionmaker[Session], counts: dict[str, int]) -> None:
    """One row per sweep, written with an upsert: two instances may record at the same moment."""
    if not counts:
        return
    at = utcnow()
    try:
        with transaction(sessions) as session:
            if session.get_bind().dialect.name == "postgresql":
                from sqlalchemy.dialects.postgresql import insert
            else:
                from sqlalchemy.dialects.sqlite import insert
            stmt = insert(SweepRun)
            session.execute(stmt.on_conflict_do_update(index_elements=["name"], set_={
                "last_at": stmt.excluded.last_at, "last_count": stmt.excluded.last_count}),
                [{"name": name, "last_at": at, "last_count": n} for name, n in counts.items()])
    except Exception as exc:  # noqa: BLE001 -- the sweeps' work is committed; only the record is lost
        log.error("recording the sweeps failed: %s", type(exc).__name__)


class Ticks:
    def __init__(self, sessions: sessionmaker[Session], tick_seconds: int = 30, expiry_days: int = 14,
                 settings=None) -> None:
        self.sessions, self.expiry_days, self.tick_seconds = sessions, expiry_days, tick_seconds
        self.last_tick: datetime | None = None
        if settings is not None:
            configure(settings)
        defaults = {"misfire_grace_time": tick_seconds * 4, "coalesce": True, "max_instances": 1}
        self.scheduler = AsyncIOScheduler(timezone=TZ, job_defaults=defaults)
        self.scheduler.add_job(self.tick, "interval", seconds=tick_seconds, id="sweep", next_run_time=utcnow(),
                               **defaults)

    def tick(self, now: datetime | None = None) -> dict[str, int]:
        counts, _failed = run_sweeps(self.sessions, now or utcnow(), self.expiry_days)
        if counts.get("expire_requests"):
            log.info("expired %d requests", counts["expire_requests"])
        if counts.get("forget_walked_away"):
            log.info("forgot what %d newcomers who walked away had written", counts["forget_walked_away"])
        self.last_tick = utcnow()
        return counts

    def start(self) -> None:
        self.scheduler.start()

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)

    def health(self, now: datetime | None = None) -> dict:
        """Running, this process's last tick, every instance's last sweep, and the due rows left
        waiting for more than two ticks (a stuck or stopped scheduler shows here)."""
        now = now or utcnow()
        result = {"running": self.scheduler.running,
                  "last_tick": self.last_tick.isoformat() if self.last_tick else None}
        try:
            result.update(overview(self.sessions, now, timedelta(seconds=2 * self.tick_seconds)))
        except Exception as exc:  # noqa: BLE001 -- the database probe reports it; health still answers
            log.warning("scheduler health unavailable: %s", type(exc).__name__)
        return result


def overview(sessions: sessionmaker[Session], now: datetime, late: timedelta) -> dict:
    before = now - late
    with sessions() as session:
        last = session.scalar(select(func.max(SweepRun.last_at)))
        overdue = {
            "plans": session.scalar(select(func.count()).where(
                CheckinPlan.status == "active", CheckinPlan.next_due_at < before)),
            "occurrences": session.scalar(select(func.count()).where(
                CheckinOccurrence.status == "waiting", CheckinOccurrence.next_at < before)),
            "followups": session.scalar(select(func.count()).where(
                FollowUp.status.in_(("open", "acknowledged")), FollowUp.next_at < before)),
            "timers": session.scalar(select(func.count()).where(Timer.status == "pending", Timer.due_at < before)),
        }
    return {"last_sweep": last.isoformat() if last else None, "overdue": overdue}
