"""Delivery bookkeeping every channel sender shares."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, aliased

from models.base import utcnow
from models.messaging import Outbox, SenderHeartbeat
from models.people import ChannelIdentity
from models.privacy import REDACTED, forget_on_disk_after_commit


def mark_delivered(session: Session, rows: list[Outbox], platform_ids: dict[int, str | None] | None = None,
                   delivery_status: str | None = None) -> None:
    """Record delivery; ``delivery_status`` is what the platform said at once (Twilio's
    "queued"), kept unless a status callback already told more. A ``purge_after_send`` row (a
    farewell after /delete, a list naming others) is emptied rather than deleted: SQLite would
    hand a deleted newest row's id out again, and an "after id" cursor would then skip the
    next message."""
    platform_ids = platform_ids or {}
    purge = [r.id for r in rows if r.purge_after_send]
    if purge:
        session.execute(update(Outbox).where(Outbox.id.in_(purge))
                        .values(status="purged", sent_at=utcnow(), text=REDACTED, options=[], address=REDACTED,
                                identity_id=None, about_person_id=None)
                        .execution_options(synchronize_session=False))
        forget_on_disk_after_commit(session)  # the emptied row's old copy is still in SQLite's WAL
    sent = [r.id for r in rows if r.status in ("pending", "sending") and not r.purge_after_send]
    if sent and not platform_ids:
        session.execute(update(Outbox).where(Outbox.id.in_(sent))
                        .values(status="sent", sent_at=utcnow(), attempts=Outbox.attempts + 1)
                        .execution_options(synchronize_session=False))
        return
    for row_id in sent:
        session.execute(update(Outbox).where(Outbox.id == row_id)
                        .values(status="sent", sent_at=utcnow(), attempts=Outbox.attempts + 1,
                                platform_message_id=platform_ids.get(row_id))
                        .execution_options(synchronize_session=False))
    if sent and delivery_status:
        session.execute(update(Outbox).where(Outbox.id.in_(sent), Outbox.delivery_status.is_(None))
                        .values(delivery_status=delivery_status).execution_options(synchronize_session=False))


#: Rows still on their way: a later row of the same address waits for these.
ACTIVE = ("pending", "sending")

#: What buurtbot says first (a hello, a reminder, a caller's reminder): it no longer goes once
#: the person said /stop or their plan was paused or stopped (handlers/quiet.py counts them).
SAID_FIRST = ("checkin", "reminder", "round")

#: Lower goes first. 0 (any purpose not named): a reply or a notification someone is waiting
#: for; 1: what buurtbot says first; BULK: one message to many (a broadcast, the weekly digest).
#: A person waiting for an answer never waits behind a broadcast (DESIGN.md "Bulk after people").
BULK = 2
PRIORITY: dict[str, int] = {**dict.fromkeys(SAID_FIRST, 1), "broadcast": BULK, "digest": BULK}


def priority_of(purpose: str) -> int:
    """The outbox priority of a row written for ``purpose`` (PRIORITY; 0 when not named)."""
    return PRIORITY.get(purpose, 0)


def due(session: Session, channel: str, now: datetime, limit: int = 200, bulk: int | None = None) -> list[Outbox]:
    """The rows ready to go, by priority, then oldest first: pending and their time has come,
    or "sending" with a lease that ran out. A row never goes while an earlier row of the same
    address and the same or a lower priority is still pending, leased or waiting for a retry --
    one chat's messages of one kind keep their order, across crashes too -- but a reply never
    waits behind a broadcast row of its address. A row that failed for good no longer holds
    the others back. ``bulk``: at most that many BULK rows besides up to ``limit`` others (a
    sender's round holds about a second of bulk, so that a reply written meanwhile is next).
    Locked rows are skipped on PostgreSQL."""
    earlier = aliased(Outbox)
    waiting_behind = (select(earlier.id)
                      .where(earlier.channel == Outbox.channel, earlier.address == Outbox.address,
                             earlier.status.in_(ACTIVE), earlier.id < Outbox.id, earlier.priority <= Outbox.priority)
                      .exists())
    query = (select(Outbox)
             .where(Outbox.channel == channel, Outbox.status.in_(ACTIVE), Outbox.next_attempt_at <= now,
                    ~waiting_behind)
             .order_by(Outbox.priority, Outbox.id))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=Outbox)
    if bulk is None:
        return list(session.scalars(query.limit(limit)))
    rows = list(session.scalars(query.where(Outbox.priority < BULK).limit(limit)))
    if bulk > 0:
        rows += session.scalars(query.where(Outbox.priority >= BULK).limit(bulk))
    return rows


def lease(session: Session, rows: list[Outbox], now: datetime, owner: str | None = None, seconds: int = 120) -> None:
    """Take rows for sending, in ``owner``'s name. If the owner dies they are taken over as
    soon as another sender sees it is gone (``reclaim``), at the latest after ``seconds``."""
    if rows:
        session.execute(update(Outbox).where(Outbox.id.in_([r.id for r in rows]))
                        .values(status="sending", leased_by=owner, next_attempt_at=now + timedelta(seconds=seconds))
                        .execution_options(synchronize_session=False))


def beat(session: Session, owner: str, channel: str, host: str, pid: int, now: datetime) -> None:
    """The sender instance ``owner`` is alive."""
    done = session.execute(update(SenderHeartbeat).where(SenderHeartbeat.owner == owner).values(last_seen=now)
                           .execution_options(synchronize_session=False))
    if not done.rowcount:
        session.add(SenderHeartbeat(owner=owner, channel=channel, host=host, pid=pid, started_at=now, last_seen=now))


def reclaim(session: Session, channel: str, owner: str, now: datetime, stale_before: datetime,
            process_gone: Callable[[str, int], bool]) -> int:
    """Rows of ``channel`` leased by senders that are gone -- no beat, a beat older than
    ``stale_before``, or a process that no longer exists (``process_gone(host, pid)``) -- go
    back to the queue at once, no attempt counted. Returns how many."""
    owners = set(session.scalars(select(Outbox.leased_by).distinct().where(
        Outbox.channel == channel, Outbox.status == "sending", Outbox.leased_by.is_not(None),
        Outbox.leased_by != owner)))
    beats = {b.owner: b for b in session.scalars(select(SenderHeartbeat).where(SenderHeartbeat.owner.in_(owners)))}
    gone = [o for o in owners if o not in beats or beats[o].last_seen < stale_before
            or process_gone(beats[o].host, beats[o].pid)]
    session.execute(delete(SenderHeartbeat).where(SenderHeartbeat.channel == channel, SenderHeartbeat.owner != owner,
                                                  SenderHeartbeat.last_seen < stale_before)
                    .execution_options(synchronize_session=False))
    if not gone:
        return 0
    session.execute(delete(SenderHeartbeat).where(SenderHeartbeat.owner.in_(gone))
                    .execution_options(synchronize_session=False))
    result = session.execute(update(Outbox).where(Outbox.channel == channel, Outbox.status == "sending",
                                                  Outbox.leased_by.in_(gone))
                             .values(status="pending", next_attempt_at=now)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def retire(session: Session, owner: str, now: datetime) -> None:
    """A clean stop: ``owner``'s leased rows go back to the queue and its beat ends."""
    session.execute(update(Outbox).where(Outbox.status == "sending", Outbox.leased_by == owner)
                    .values(status="pending", next_attempt_at=now).execution_options(synchronize_session=False))
    session.execute(delete(SenderHeartbeat).where(SenderHeartbeat.owner == owner)
                    .execution_options(synchronize_session=False))


def note_error_code(session: Session, row_id: int, code: str) -> None:
    """The platform's own error code for the last try (Twilio's 63016, 20429, ...)."""
    session.execute(update(Outbox).where(Outbox.id == row_id).values(error_code=code[:8])
                    .execution_options(synchronize_session=False))


def retry_at(session: Session, row_ids: list[int], when: datetime, count_attempt: bool,
             error: str | None = None) -> None:
    """Back to the queue. A platform's "retry after" is not the message's fault: no attempt
    is counted for it."""
    if row_ids:
        values = {"status": "pending", "next_attempt_at": when}
        if count_attempt:
            values["attempts"] = Outbox.attempts + 1
        if error:
            values["error"] = error[:200]
        session.execute(update(Outbox).where(Outbox.id.in_(row_ids)).values(**values)
                        .execution_options(synchronize_session=False))


def fail(session: Session, row_ids: list[int], error: str) -> None:
    if row_ids:
        session.execute(update(Outbox).where(Outbox.id.in_(row_ids))
                        .values(status="failed", error=error[:200], attempts=Outbox.attempts + 1)
                        .execution_options(synchronize_session=False))


def unreachable(session: Session, channel: str, address: str, error: str) -> None:
    """The person blocked the bot or left the platform: stop using that identity and fail
    whatever was still queued for it (the coordinator can see it in the outbox)."""
    session.execute(update(ChannelIdentity).where(ChannelIdentity.channel == channel,
                                                  ChannelIdentity.address == address)
                    .values(active=False).execution_options(synchronize_session=False))
    cancel_queued(session, channel, address, error)


#: Twilio's delivery states in the order they happen; a late callback never moves one back.
DELIVERY_ORDER = {"accepted": 0, "queued": 1, "sending": 2, "sent": 3, "delivered": 4, "read": 5}
DELIVERY_FAILED = ("failed", "undelivered")


def record_delivery(session: Session, row: Outbox, delivery_status: str, error_code: str | None) -> bool:
    """Apply a platform's status report to ``row``; False when it is older than what we know
    (callbacks arrive out of order). A failure always counts: it is final."""
    current = row.delivery_status
    if delivery_status not in DELIVERY_FAILED:
        if delivery_status not in DELIVERY_ORDER or current in DELIVERY_FAILED:
            return False
        if current in DELIVERY_ORDER and DELIVERY_ORDER[current] >= DELIVERY_ORDER[delivery_status]:
            return False
    row.delivery_status = delivery_status
    if error_code:
        row.error_code = error_code[:8]
    return True


def hold(session: Session, row: Outbox, reason: str) -> None:
    """Keep a message that cannot go out now; it goes again when the person writes."""
    row.status, row.error = "held", reason[:200]


def release_held(session: Session, channel: str, address: str) -> int:
    """The person wrote (a WhatsApp window opened): what was held for them goes out now."""
    result = session.execute(update(Outbox).where(Outbox.channel == channel, Outbox.address == address,
                                                  Outbox.status == "held")
                             .values(status="pending", next_attempt_at=utcnow(), error_code=None)
                             .execution_options(synchronize_session=False))
    return result.rowcount or 0


def other_identity(session: Session, row: Outbox, channel: str) -> ChannelIdentity | None:
    """The same person's reachable identity on ``channel`` (an SMS number beside WhatsApp)."""
    if row.identity_id is None:
        return None
    person_id = session.scalar(select(ChannelIdentity.person_id).where(ChannelIdentity.id == row.identity_id))
    if person_id is None:
        return None
    return session.scalars(select(ChannelIdentity).where(
        ChannelIdentity.person_id == person_id, ChannelIdentity.channel == channel,
        ChannelIdentity.active.is_(True), ChannelIdentity.opted_out_at.is_(None))
        .order_by(ChannelIdentity.id).limit(1)).first()


def reroute(session: Session, row: Outbox, to: ChannelIdentity, reason: str) -> Outbox:
    """Send ``row`` again on another identity of the same person; the original records why."""
    copy = Outbox(idempotency_key=f"reroute:{row.id}:{to.channel}", channel=to.channel, address=to.address,
                  identity_id=to.id, about_person_id=row.about_person_id, language=row.language,
                  purpose=row.purpose, priority=row.priority, text=row.text, options=row.options, media=row.media,
                  purge_after_send=row.purge_after_send, status="pending", next_attempt_at=utcnow())
    session.add(copy)
    row.status, row.error = "rerouted", f"{reason}; sent by {to.channel} instead"[:200]
    return copy


#: One message to many (a broadcast, the weekly digest): after /stop it does not go either.
BULK_PURPOSES = tuple(purpose for purpose, priority in PRIORITY.items() if priority == BULK)


def cancel_said_first(session: Session, person_id: int, error: str,
                      purposes: tuple[str, ...] = SAID_FIRST) -> int:
    """A hello or reminder (``purposes``) still queued for the person does not go out after all --
    held back by quiet hours or waiting behind a long broadcast."""
    identities = select(ChannelIdentity.id).where(ChannelIdentity.person_id == person_id)
    result = session.execute(update(Outbox).where(Outbox.identity_id.in_(identities),
                                                  Outbox.purpose.in_(purposes),
                                                  Outbox.status.in_(("pending", "held")))
                             .values(status="failed", error=error[:200]).execution_options(synchronize_session=False))
    return result.rowcount or 0


def cancel_queued(session: Session, channel: str, address: str, error: str) -> None:
    """Nothing still queued for that address goes out (a STOP, a blocked bot)."""
    session.execute(update(Outbox).where(Outbox.channel == channel, Outbox.address == address,
                                         Outbox.status.in_(("pending", "sending", "held")))
                    .values(status="failed", error=error[:200]).execution_options(synchronize_session=False))
