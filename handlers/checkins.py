"""PLACEHOLDER (voice branch): the three functions the voice channel calls, with the signatures
SCHED.md fixes. The checkin helper's module replaces this file at merge time; until then a call
answered by keypress is thanked, and an unanswered call is logged as an attempt.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from handlers.i18n import _
from models.schedules import CheckinAttempt, CheckinOccurrence


def answer_by_voice(session: Session, payload: str, now: datetime) -> str:
    """The words said back after the person pressed the key of ``payload`` (``ci:<answer>:<occ>``)."""
    _ci, answer, occ_id = (payload.split(":") + ["", "", ""])[:3]
    occ = session.get(CheckinOccurrence, int(occ_id)) if occ_id.isdigit() else None
    if occ is not None and occ.answer is None:
        occ.answer = {"ok": "ok", "call": "call_me", "help": "help"}.get(answer)
        occ.status, occ.answered_at, occ.next_at = "answered", now, None
        session.add(CheckinAttempt(occurrence_id=occ.id, person_id=occ.person_id, at=now, step="answer",
                                   channel="voice", outcome=occ.answer or "ok"))
    # TRANSLATORS: said on a phone call by a speech engine: short, plain, numbers as words.
    return _("Thank you.")


def call_ended(session: Session, occ_id: int, outcome: str, now: datetime) -> None:
    """A call of this occurrence ended without an answer ("busy", "no-answer", "failed",
    "machine", "canceled", "no-digit")."""
    occ = session.get(CheckinOccurrence, occ_id)
    if occ is None:
        return
    session.add(CheckinAttempt(occurrence_id=occ.id, person_id=occ.person_id, at=now, step="call", channel="voice",
                               outcome=outcome))


def voicemail_text(session: Session, occ_id: int) -> str:
    """What an answering machine hears: never the menu."""
    # TRANSLATORS: said on a phone call by a speech engine: short, plain, numbers as words.
    return _("We will try again later.")
