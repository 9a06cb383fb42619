"""The one core every channel's outbox sender runs on; a channel adds only its platform call
and how that platform's answers map to outcomes (Telegram: sender.py; Twilio: sender.py).

- Taking: the oldest due row of each address, by priority, then in id order, and only while no
  earlier row of that address and priority (or a more urgent one) is still pending, leased or
  being retried (models.outbox.due): one chat's messages arrive in the order they were written,
  across crashes and restarts too, and a reply never waits behind a broadcast. A round takes
  every urgent row and about one second of bulk rows (``rate`` rounded up); a wake between two
  bulk sends (a reply was written) takes the urgent rows at once, before the next bulk row.
  A row the channel cannot address (a string chat id, a malformed number) or cannot even
  prepare fails at once with its reason and blocks nothing.
- Leasing: taken rows are "sending", leased for LEASE seconds to this instance (``owner``).
  Each instance beats in ``outbox_senders`` every ``heartbeat`` seconds; rows leased by an
  owner with no fresh beat, or whose process is gone from this host, are taken over at the
  next beat -- after a crash delivery resumes at once, not after the lease.
- One active sender per channel: on PostgreSQL an instance sends only while it holds the
  channel's advisory lock (``pg_try_advisory_lock`` on a connection of its own), so N
  processes behind a load balancer keep the platform's limit once, not N times; the others
  stand by and one takes over when the holder's connection closes (its process died). SQLite
  serves one process: there every sender is active.
- Pacing: ``rate`` sends (or cost units: SMS segments) a second in all, ``address_gap``
  seconds between two sends to one address; with ``arrival_window`` also at most ``rate``
  sends in flight or answered within the last second (Telegram counts a send on arrival).
  Sends start at their slot without waiting for earlier answers.
- Outcomes: Sent; Pause (the platform asks everything to wait: Telegram's RetryAfter, Twilio's
  429 -- the row goes back, no attempt counted); Retry (network: exponential backoff, failed
  after MAX_ATTEMPTS); Fail (final, with the reason); Settle (the channel's own bookkeeping).
  An unexpected exception in a send fails that row, never the round.
"""
from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import os
import socket
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from handlers.quiet import quiet_until
from models import Outbox
from models import outbox as queue
from models.base import utcnow
from models.db import transaction

log = logging.getLogger("buurtbot.sender")

LEASE = 120  # seconds a taken row stays ours if nobody notices we are gone
HEARTBEAT = 2.0  # seconds between beats (and between tries for the channel's lock)
STALE = timedelta(seconds=15)  # a beat older than this: its owner is gone
MAX_ATTEMPTS = 8
MAX_BACKOFF = 60.0
HOST = socket.gethostname()[:64]


# ---- what a send came to --------------------------------------------------------------------
@dataclass(frozen=True)
class Sent:
    platform_id: str | None = None
    delivery_status: str | None = None  # what the platform said at once (Twilio: "queued")


@dataclass(frozen=True)
class Pause:
    """The platform asks every send to wait. ``seconds`` None: a backoff that doubles from
    ``first_backoff`` while it lasts (Twilio 429); else exactly that long (Telegram)."""

    seconds: float | None = None
    error: str | None = None
    code: str | None = None


@dataclass(frozen=True)
class Retry:
    reason: str
    code: str | None = None


@dataclass(frozen=True)
class Fail:
    reason: str
    code: str | None = None


@dataclass(frozen=True)
class Settle:
    """The channel's own bookkeeping for this answer (blocked, opted out, a template next)."""

    change: Callable[[Session, Outbox], None]
    code: str | None = None


Outcome = Sent | Pause | Retry | Fail | Settle


@dataclass
class Job:
    """One row as it goes on the wire; channels with more to decide subclass it."""

    row: Outbox

    @property
    def cost(self) -> float:
        return 1.0

    @property
    def bulk(self) -> bool:
        """One of many (a broadcast): it gives way to a reply written meanwhile."""
        return self.row.priority >= queue.BULK


# ---- who is alive ---------------------------------------------------------------------------
def new_owner() -> str:
    """This sender instance's name on its leases: host, process and a token of its own."""
    return f"{HOST[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def process_gone(host: str, pid: int) -> bool:
    """Whether a beat's process is certainly gone: only knowable on this host."""
    if host != HOST or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, but not ours to signal
        return False
    return False


def lock_key(channel: str) -> int:
    """A stable 64-bit advisory lock key per channel (per database: PostgreSQL scopes them)."""
    return int.from_bytes(hashlib.sha256(f"buurtbot-sender:{channel}".encode()).digest()[:8], "big", signed=True)


#: Server-side TCP keepalive of the lock's session (seconds; ignored on a Unix socket).
KEEPALIVES = (("tcp_keepalives_idle", 10), ("tcp_keepalives_interval", 5), ("tcp_keepalives_count", 3))


class ChannelLock:
    """Being the one active sender of a channel: a PostgreSQL session advisory lock held on a
    connection of its own, outside the pool, so it ends when that connection or the process
    does. On SQLite (one process) it is always held."""

    def __init__(self, channel: str) -> None:
        self.key = lock_key(channel)
        self.conn = None
        self.held = False

    def hold(self, engine) -> bool:
        """Keep or take the lock; False while another instance holds it."""
        if engine.dialect.name != "postgresql":
            return True
        try:
            if self.conn is None:
                self.conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                self.conn.detach()  # closing it must end the session (and the lock), not pool it
                # A host that dies without closing its socket (power cut, network gone) would keep the
                # lock until the server's TCP keepalive gives up (about two hours by default): this
                # session's server side probes after 10 s idle, so another instance takes over in ~25 s.
                for setting, seconds in KEEPALIVES:
                    self.conn.execute(text(f"SET {setting} = {seconds}"))
            if self.held:
                self.conn.execute(text("SELECT 1"))  # the session, and with it the lock, is still there
            else:
                self.held = bool(self.conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}).scalar())
        except DBAPIError as exc:
            log.warning("sender lock connection lost: %s", type(exc).__name__)
            self.release()
        return self.held

    def release(self) -> None:
        conn, self.conn, self.held = self.conn, None, False
        if conn is not None:
            with contextlib.suppress(SQLAlchemyError):
                conn.close()  # detached: the session ends, PostgreSQL drops its advisory locks


# ---- the core -------------------------------------------------------------------------------
class OutboxSender:
    """Drains one channel's outbox. Subclasses implement ``attempt`` and may override
    ``check_address`` and ``prepare``."""

    name = "outbox"
    sessions: sessionmaker[Session]

    def __init__(self, channel: str = "outbox", sessions: sessionmaker[Session] | None = None, *,
                 rate: float = 30.0, address_gap: float = 0.0, arrival_window: bool = False,
                 first_backoff: float = 1.0, clock: Callable[[], float] = time.monotonic, now=utcnow,
                 heartbeat: float = HEARTBEAT, owner: str | None = None,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.name = self.channel = channel
        if sessions is not None:
            self.sessions = sessions
        self.clock, self.now = clock, now
        self.sleep = sleep  # waits for pacing, on ``clock``: tests give both a clock that moves only when slept on
        self.gap, self.address_gap = 1.0 / rate, address_gap
        self.bulk_per_round = max(1, math.ceil(rate))  # about a second of bulk rows in one round
        self.per_second = max(1, math.floor(rate)) if arrival_window else None
        self.first_backoff, self.backoff = first_backoff, 0.0
        self.next_slot = self.paused_until = 0.0
        self.address_ready: dict[str, float] = {}
        self.in_flight = 0
        self.answered: deque[float] = deque()  # when the answers of the last second came
        self.sent = self.pauses = 0
        self.owner = owner or new_owner()
        self.heartbeat = heartbeat
        self.lock = ChannelLock(channel)
        self.active = False
        self._beat_at: float | None = None
        self._tasks: set[asyncio.Task] = set()
        self._wake = asyncio.Event()
        #: The urgent rows being taken after a wake, while the bulk goes on (a pacing test waits for it).
        self.taking: asyncio.Task[list[Job]] | None = None
        #: The next round's rows, taken while a bulk round's last row goes (``run`` only).
        self.ahead: asyncio.Task[list[Job]] | None = None

    # ---- what a channel provides -------------------------------------------------------
    def check_address(self, address: str) -> str | None:
        """Why ``address`` can never be sent to on this channel, or None."""
        return None

    def prepare(self, session: Session, row: Outbox, now) -> Job | None:
        """What ``row`` becomes on the wire, in the taking transaction; None when the channel
        settled it itself (held, rerouted)."""
        return Job(row)

    async def attempt(self, job: Job) -> Outcome:  # pragma: no cover - abstract
        """Send ``job`` once; what the platform answered, as an outcome."""
        raise NotImplementedError

    # ---- the loop ----------------------------------------------------------------------
    def wake(self) -> None:
        """Called after a dispatch wrote replies: send now rather than at the next poll."""
        self._wake.set()

    async def run(self, idle: float = 0.5) -> None:
        try:
            while True:
                try:
                    worked = await self.drain_once(wait=False)
                except Exception as exc:  # noqa: BLE001 - the sender must outlive one bad round
                    log.error("%s sender round failed: %s", self.name, type(exc).__name__)
                    worked = False
                if not worked:  # drain_once cleared the wake before taking: one set since is new work
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=idle)
                    except asyncio.TimeoutError:
                        pass
        finally:
            # answers on their way are recorded, not sent again by the next one; rows being taken
            # are leased before retire() hands them back
            pending = [*self._tasks, *(t for t in (self.ahead, self.taking) if t is not None)]
            if pending:
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait(pending, timeout=2.0)
            self.retire()

    async def drain_once(self, wait: bool = True) -> bool:
        """Start what is due now, each at its slot; ``wait``: also wait for the answers.
        Returns whether anything was taken. A round holds about a second of bulk (broadcast)
        rows; a wake between two of them (a reply written) takes what is urgent first, and a
        bulk row whose chat is not ready (its reply just went) goes back rather than holding up
        the round. Without ``wait`` (``run``), a bulk round takes the next round's rows while
        its last row goes."""
        ahead, self.ahead = self.ahead, None
        if not await self._keep_up():
            if ahead is not None:  # taken while this instance still had the channel: back to the queue
                ids = [j.row.id for j in await ahead]
                await asyncio.to_thread(self._record, lambda s: queue.retry_at(s, ids, self.now(), False))
            return False
        if ahead is None:
            self._wake.clear()  # what was written before this is taken now; a wake from here on is seen
            ahead = asyncio.to_thread(self._take)
        jobs = await ahead
        later: list[int] = []  # bulk rows whose chat just had a message: back to the queue, not waited for
        i = 0
        while i < len(jobs) or self.taking is not None:
            if self.taking is not None and (self.taking.done() or i == len(jobs)):
                jobs[i:i], self.taking = await self.taking, None  # they go next, before the rest of the bulk
                continue
            if jobs[i].bulk and self.taking is None and self._wake.is_set():
                # a reply was written: take it while the bulk goes on (the query does not hold up the pace)
                self._wake.clear()
                self.taking = asyncio.create_task(asyncio.to_thread(self._take, 0))
            if not wait and self.ahead is None and i == len(jobs) - 1 and jobs[i].bulk:
                # the next round's rows are taken while this one's last goes: the query does not cost a slot
                self._wake.clear()
                self.ahead = asyncio.create_task(asyncio.to_thread(self._take))
            job = jobs[i]
            if job.bulk and self.address_ready.get(job.row.address, 0.0) > self.clock():
                later.append(job.row.id)  # its chat's reply went first: waiting for the gap would hold up all
                i += 1
                continue
            await self._window()
            await self.pace(job.cost, job.row.address)
            # a pause began meanwhile, or another instance has the channel now: give the rest back
            if self.paused_until > self.clock() or not await self._keep_up():
                if self.taking is not None:
                    jobs[i:i], self.taking = await self.taking, None
                ids = [j.row.id for j in jobs[i:]]
                await asyncio.to_thread(self._record, lambda s: queue.retry_at(s, ids, self.now(), False))
                break
            self.in_flight += 1
            task = asyncio.create_task(self._send(job))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
            i += 1
        if later:
            await asyncio.to_thread(self._record, lambda s: queue.retry_at(s, later, self.now(), False))
        if wait:
            await self.idle()
        return bool(jobs)

    async def idle(self) -> None:
        """Wait until every send started so far has its answer recorded."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # ---- liveness and leadership -------------------------------------------------------
    async def _keep_up(self) -> bool:
        """Every ``heartbeat`` seconds: keep (or try for) the channel, beat, take over the
        rows of owners that are gone. Returns whether this instance may send."""
        mono = self.clock()
        if self._beat_at is None or mono - self._beat_at >= self.heartbeat:
            self._beat_at = mono
            await asyncio.to_thread(self._beat)
        return self.active

    def _beat(self) -> None:
        was = self.active
        self.active = self.lock.hold(self.sessions.kw["bind"])
        if self.active != was:
            log.info("%s sender %s", self.name, "active" if self.active else "standing by")
        if self.active:
            now = self.now()
            with transaction(self.sessions) as session:
                queue.beat(session, self.owner, self.channel, HOST, os.getpid(), now)
                taken = queue.reclaim(session, self.channel, self.owner, now, now - STALE, process_gone)
            if taken:
                log.info("%s sender took over %d rows of a sender that is gone", self.name, taken)

    def retire(self) -> None:
        """A clean stop: what we leased goes back to the queue, our beat and lock end."""
        try:
            with transaction(self.sessions) as session:
                queue.retire(session, self.owner, self.now())
        except SQLAlchemyError as exc:
            log.warning("%s sender could not hand back its rows: %s", self.name, type(exc).__name__)
        self.lock.release()
        self.active, self._beat_at = False, None

    # ---- taking ------------------------------------------------------------------------
    def _take(self, bulk: int | None = None) -> list[Job]:
        """Lease what is due: every urgent row and ``bulk`` bulk rows (default: a second's worth)."""
        now, mono = self.now(), self.clock()
        jobs = []
        taken: set[str] = set()
        bulk = self.bulk_per_round if bulk is None else bulk
        if bulk and quiet_until(now) is not None:
            bulk = 0  # a long broadcast stops for the night (QUIET_HOURS) and goes on in the morning
        with transaction(self.sessions) as session:
            for row in queue.due(session, self.channel, now, bulk=bulk):
                if self.address_ready.get(row.address, 0.0) > mono or row.address in taken:
                    continue  # this address's gap has not passed (or its reply goes first): it waits, the others go
                taken.add(row.address)
                reason = self.check_address(row.address)
                if reason is not None:
                    queue.fail(session, [row.id], reason)
                    continue
                try:
                    with session.begin_nested():
                        job = self.prepare(session, row, now)
                except SQLAlchemyError:
                    raise
                except Exception as exc:  # noqa: BLE001 - one row's bad data must not stop the others
                    log.error("%s sender cannot prepare row %s: %s", self.name, row.id, type(exc).__name__)
                    queue.fail(session, [row.id], f"cannot send: {type(exc).__name__}")
                    continue
                if job is not None:
                    jobs.append(job)
            queue.lease(session, [j.row for j in jobs], now, self.owner, LEASE)
        return jobs

    # ---- pacing ------------------------------------------------------------------------
    async def _window(self) -> None:
        """With ``arrival_window``: wait until fewer than ``per_second`` sends are in flight or
        were answered within the last second."""
        while self.per_second is not None:
            now = self.clock()
            while self.answered and self.answered[0] <= now - 1.0:
                self.answered.popleft()
            if self.in_flight + len(self.answered) < self.per_second:
                return
            await self.sleep(self.answered[0] + 1.0 - now if self.answered else 0.01)

    async def pace(self, cost: float = 1.0, address: str | None = None) -> None:
        """Wait for the next slot (and ``address``'s gap); ``cost`` slots are used. The slot is
        looked at again after waiting: the round and a message's later parts (Twilio) pace at
        once, and the one that wakes second must not take the slot the first just took."""
        paused = self.paused_until  # a pause that begins meanwhile is the caller's to notice
        while True:
            now = self.clock()
            ready = self.address_ready.get(address, 0.0) if address is not None else 0.0
            wait = max(self.next_slot, paused, ready) - now
            if wait <= 0:
                break
            await self.sleep(wait)
        self.next_slot = max(now, self.next_slot) + cost * self.gap
        if address is not None and self.address_gap:
            self.address_ready[address] = now + self.address_gap

    def _answered(self, address: str) -> None:
        now = self.clock()
        self.in_flight -= 1
        if self.per_second is not None:
            self.answered.append(now)
        if self.address_gap:
            self.address_ready[address] = max(self.address_ready.get(address, 0.0), now + self.address_gap)

    def _pause(self, seconds: float | None) -> float:
        """Everything waits; returns how long the row stays back."""
        now = self.clock()
        self.pauses += 1
        if seconds is None:
            self.backoff = min(MAX_BACKOFF, max(self.first_backoff, self.backoff * 2))
            self.paused_until = max(self.paused_until, now + self.backoff)
            return self.backoff
        # several refused at once: one wait after the other, never too short
        self.paused_until = max(self.paused_until, now) + seconds
        return seconds

    # ---- sending and outcomes ----------------------------------------------------------
    async def _send(self, job: Job) -> None:
        row = job.row
        try:
            try:
                outcome = await self.attempt(job)
            finally:  # by now the send reached the platform, if it ever does
                self._answered(row.address)
        except Exception as exc:  # noqa: BLE001 - bad data or a bug in one row fails that row only
            log.error("%s sender failed row %s: %s", self.name, row.id, type(exc).__name__)
            outcome = Fail(f"cannot send: {type(exc).__name__}")
        delay = 0.0
        if isinstance(outcome, Pause):
            delay = self._pause(outcome.seconds)
        elif isinstance(outcome, Sent):
            self.sent += 1
            self.backoff = 0.0
        await asyncio.to_thread(self._record, lambda s: self._settle(s, row, outcome, delay))

    def _settle(self, session: Session, row: Outbox, outcome: Outcome, delay: float) -> None:
        now = self.now()
        if isinstance(outcome, Sent):
            queue.mark_delivered(session, [row], {row.id: outcome.platform_id}, outcome.delivery_status)
            return
        if isinstance(outcome, Pause):
            queue.retry_at(session, [row.id], now + timedelta(seconds=delay), count_attempt=False, error=outcome.error)
        elif isinstance(outcome, Retry):
            attempts = row.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                queue.fail(session, [row.id], f"network: {outcome.reason}")
            else:
                queue.retry_at(session, [row.id], now + timedelta(seconds=min(300, 2 ** attempts)), True,
                               outcome.reason)
        elif isinstance(outcome, Fail):
            queue.fail(session, [row.id], outcome.reason)
        else:
            outcome.change(session, row)
        if outcome.code:
            queue.note_error_code(session, row.id, outcome.code)

    def _record(self, change) -> None:
        with transaction(self.sessions) as session:
            change(session)
