"""What a call's webhooks change, each in the request's one transaction.

A call is remembered by the keys it has passed, ``<CallSid>:<event>`` rows in the inbound log
(``status:<CallStatus>``, ``answer``, ``machine``, ``ended``): a replayed callback finds its
key and changes nothing twice, and two copies at once meet at the log's unique index. The
check-in itself (what an answer means, what follows an unanswered call) is
handlers.checkins's: ``answer_by_voice``, ``call_ended``, ``voicemail_text``.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.channels.voice.inbound import FINAL, CallEvent
from bot.channels.voice.render import Calls, hang_up
from handlers import checkins
from handlers.i18n import speaking
from models import InboundLog, Outbox
from models.base import utcnow
from models.schedules import CheckinAttempt, CheckinOccurrence

CHANNEL = "voice"
#: CallStatus on the way to the end -> the attempt it is on the person's timeline.
PROGRESS = {"ringing": "ringing", "in-progress": "answered"}
_INSERT = {name: insert(InboundLog.__table__).on_conflict_do_nothing().returning(InboundLog.__table__.c.id)
           for name, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))}


def first_time(session: Session, key: str) -> bool:
    """Remember ``key``; False when it was remembered before (a replay)."""
    values = {"channel": CHANNEL, "platform_message_id": key[:80], "received_at": utcnow()}
    insert = _INSERT.get(session.get_bind().dialect.name)
    if insert is not None:
        return session.connection().execute(insert, values).first() is not None
    try:
        with session.begin_nested():
            session.add(InboundLog(**values))
        return True
    except IntegrityError:
        return False


def seen(session: Session, key: str) -> bool:
    return session.scalar(select(InboundLog.id).where(InboundLog.channel == CHANNEL,
                                                      InboundLog.platform_message_id == key[:80])) is not None


def voice_row(session: Session, row_id: int) -> Outbox | None:
    row = session.get(Outbox, row_id)
    return row if row is not None and row.channel == CHANNEL and row.status != "purged" else None


def occurrence_of(row: Outbox) -> int | None:
    """The check-in occurrence a call is about: the last part of its options' payloads."""
    for option in row.options or []:
        tail = str(option.get("payload", "")).rsplit(":", 1)[-1]
        if tail.isascii() and tail.isdigit():
            return int(tail)
    return None


def twiml(session: Session, event: CallEvent, render: Callable[[Outbox], Calls]) -> str:
    """The call was answered: the menu, or for a machine the voicemail only."""
    row = voice_row(session, event.row_id)
    if row is None:
        return hang_up()
    if event.machine:
        first_time(session, f"{event.call_sid}:machine")
        occ = occurrence_of(row)
        with speaking(row.language):
            text = checkins.voicemail_text(session, occ) if occ is not None else ""
        return render(row).voicemail(text)
    return render(row).menu(row.text)


def gather(session: Session, event: CallEvent, render: Callable[[Outbox], Calls], now: datetime) -> str:
    """A key was pressed (or none): its option's answer, the prompt again, or goodbye."""
    row = voice_row(session, event.row_id)
    if row is None:
        return hang_up()
    calls, options, key = render(row), row.options or [], event.digits
    if seen(session, f"{event.call_sid}:answer"):
        return calls.words("")  # answered already: a replay, or a key after the answer
    if key == "0":
        return calls.menu(row.text, event.attempt)
    if key.isdigit() and 1 <= int(key) <= len(options):
        if not first_time(session, f"{event.call_sid}:answer"):
            return calls.words("")
        with speaking(row.language):
            words = checkins.answer_by_voice(session, options[int(key) - 1]["payload"], now)
        return calls.words(words)
    if key:
        return calls.wrong_key(row.text, event.attempt)
    return calls.silence(row.text, event.attempt)


def outcome_of(session: Session, event: CallEvent) -> str | None:
    """How a call that ended went for the ladder, or None when the person answered."""
    if event.status in ("busy", "no-answer", "failed", "canceled"):
        return event.status
    if event.machine or seen(session, f"{event.call_sid}:machine"):
        return "machine"
    return None if seen(session, f"{event.call_sid}:answer") else "no-digit"


def status(session: Session, event: CallEvent, now: datetime) -> bool:
    """A status callback; False when it was a replay (nothing changed)."""
    row = voice_row(session, event.row_id)
    if row is None or not event.status or not first_time(session, f"{event.call_sid}:status:{event.status}"):
        return False
    if event.machine:
        first_time(session, f"{event.call_sid}:machine")
    if row.delivery_status not in FINAL:  # callbacks may come out of order: a late "ringing" changes nothing
        row.delivery_status = event.status
    occ_id = occurrence_of(row)
    if event.status in PROGRESS:
        log_call(session, occ_id, PROGRESS[event.status], event.call_sid, now)
    elif event.status in FINAL:
        outcome = outcome_of(session, event)
        if outcome is None:
            log_call(session, occ_id, "completed", event.call_sid, now)
        elif occ_id is not None and first_time(session, f"{event.call_sid}:ended"):
            with speaking(row.language):
                checkins.call_ended(session, occ_id, outcome, now)
    return True


def log_call(session: Session, occ_id: int | None, outcome: str, call_sid: str, now: datetime) -> None:
    """A step of the call on the person's timeline (ids and codes only)."""
    occ = session.get(CheckinOccurrence, occ_id) if occ_id is not None else None
    if occ is not None:
        session.add(CheckinAttempt(occurrence_id=occ.id, person_id=occ.person_id, at=now, step="call",
                                   channel=CHANNEL, outcome=outcome, call_sid=call_sid[:64]))
