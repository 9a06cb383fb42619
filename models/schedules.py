"""Schedules as rows: plan -> occurrence -> attempts, follow-ups for people, and timers.

Nothing here is an APScheduler job. A plan says what and when in local time (Brussels);
``next_due_at`` (UTC, indexed) is when the check-in sweep next acts on it. Each time it does,
an *occurrence* is written once (its ``key`` is ``checkin:<plan>:<local iso>``, unique), and
every message, call, retry, buddy task and alert of that occurrence is an *attempt* row: the
timeline a coordinator reads. The escalation ladder is data (``CheckinPlan.ladder``), and the
next step of an occurrence is its ``next_at``. A *follow-up* is a task for one named person (a
call-back, a look-in at the door, a round call), and a *timer* is any other single thing that
falls due (the reminders around a task). Sweeps claim due rows (``lease_until``/``leased_by``
on SQLite, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and never hold them across a network call.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, utcnow
from models.people import Person

#: How a check-in reaches a person. "voice": a phone call (Twilio), "round": a volunteer caller
#: phones them (a human phone round; the caller gets the reminder, not the person).
PLAN_CHANNELS = ("telegram", "whatsapp", "sms", "voice", "demo", "round")
PLAN_STATUSES = ("active", "paused", "stopped")

#: The default escalation ladder, as data: each step runs ``after`` minutes after the previous
#: one found no answer. "retry": the same channel again; "second_channel": another channel the
#: person has, if any (skipped otherwise); "buddy": a look-in task for the buddy, who has
#: ``deadline`` minutes to say they are going (skipped without a buddy); "coordinator": the
#: plan's coordinator (else the neighbourhood's), with "call 112 if you see danger signs".
DEFAULT_LADDER: list[dict] = [
    {"step": "retry", "after": 10},
    {"step": "second_channel", "after": 10},
    {"step": "buddy", "after": 10, "deadline": 60},
    {"step": "coordinator", "after": 0},
]

#: Occurrence states. "waiting": contacted, no answer yet; "answered": the person answered (the
#: ladder stops); "escalated": the ladder reached a human who has it now; "closed": that human
#: closed it with an outcome; "missed_by_system": buurtbot was down past the grace window and
#: never contacted them -- reported to the coordinator, never silently skipped.
OCCURRENCE_STATUSES = ("waiting", "answered", "escalated", "closed", "missed_by_system")

FOLLOWUP_KINDS = ("callback", "lookin", "round")
FOLLOWUP_STATUSES = ("open", "acknowledged", "declined", "done", "escalated")


class CheckinPlan(Base):
    """A weekly hello for one person, always opted into (by them, or with the consent a
    coordinator recorded: how, by whom, when)."""

    __tablename__ = "checkin_plans"
    __table_args__ = (Index("ix_checkin_plans_due", "status", "next_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="checkin")  # "checkin" | "round"
    channel: Mapped[str] = mapped_column(String(16))  # one of PLAN_CHANNELS
    #: Weekdays, 0 = Monday ... 6 = Sunday.
    days: Mapped[list[int]] = mapped_column(JSON, default=list)
    #: Local time in Brussels, "HH:MM".
    time_local: Mapped[str] = mapped_column(String(5), default="10:00")
    #: The named human the check-in comes from ("Fatima van het wijkhuis").
    sender_name: Mapped[str | None] = mapped_column(String(80))
    buddy_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    coordinator_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    #: The volunteer who phones the person (kind "round").
    caller_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:00")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00")
    status: Mapped[str] = mapped_column(String(12), default="active")
    #: Paused until this day (holiday, hospital); None with status "paused": until resumed.
    paused_until: Mapped[date | None] = mapped_column(Date)
    ladder: Mapped[list[dict]] = mapped_column(JSON, default=lambda: [dict(s) for s in DEFAULT_LADDER])
    consent_how: Mapped[str | None] = mapped_column(String(200))
    consent_by: Mapped[str | None] = mapped_column(String(80))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    buddy: Mapped[Person | None] = relationship(foreign_keys=[buddy_id])
    coordinator: Mapped[Person | None] = relationship(foreign_keys=[coordinator_id])
    caller: Mapped[Person | None] = relationship(foreign_keys=[caller_id])


class CheckinOccurrence(Base):
    """One due instant of a plan: written once (``key``), whatever the number of sweeps."""

    __tablename__ = "checkin_occurrences"
    __table_args__ = (Index("ix_checkin_occurrences_next", "status", "next_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(80), unique=True)  # checkin:<plan id>:<local iso minute>
    plan_id: Mapped[int] = mapped_column(ForeignKey("checkin_plans.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    status: Mapped[str] = mapped_column(String(16), default="waiting")
    #: What the person answered: "ok", "call_me", "help" (or None).
    answer: Mapped[str | None] = mapped_column(String(16))
    #: The index in the plan's ladder of the step to run at ``next_at``.
    ladder_index: Mapped[int] = mapped_column(Integer, default=0)
    #: When the sweep next acts on it (the next ladder step); None: nothing left, or waiting
    #: for a call's outcome (the voice channel sets it when the call ends unanswered).
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    plan: Mapped[CheckinPlan] = relationship()
    person: Mapped[Person] = relationship(foreign_keys=[person_id])


class CheckinAttempt(Base):
    """One thing that happened to an occurrence: a message or call sent, a call's status, an
    answer, a task given to a buddy, an alert to a coordinator. Ids and codes, never content."""

    __tablename__ = "checkin_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_occurrences.id", ondelete="CASCADE"),
                                                      index=True)
    #: Whose timeline this belongs to (kept on the row so the timeline is one indexed query).
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    #: "checkin", "retry", "second_channel", "buddy", "coordinator", "answer", "call", "round", ...
    step: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str | None] = mapped_column(String(16))
    #: "queued", "ringing", "answered", "completed", "busy", "no-answer", "failed", "machine",
    #: "ok", "call_me", "help", "going", "cant", "all_well", "needed_help", "nobody_opened",
    #: "no_ack", "skipped", "capped", "missed_by_system", ...
    outcome: Mapped[str] = mapped_column(String(24))
    outbox_key: Mapped[str | None] = mapped_column(String(120))
    call_sid: Mapped[str | None] = mapped_column(String(64), index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)


class FollowUp(Base):
    """A task for one named person about another: call them back, look in at their door,
    phone them in this week's round. Acknowledged by button and closed with an outcome; a
    deadline that passes without it goes to the coordinator (``next_at``)."""

    __tablename__ = "followups"
    __table_args__ = (Index("ix_followups_next", "status", "next_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # one of FOLLOWUP_KINDS
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    neighbourhood_id: Mapped[int] = mapped_column(ForeignKey("neighbourhoods.id"), index=True)
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"), index=True)
    occurrence_id: Mapped[int | None] = mapped_column(ForeignKey("checkin_occurrences.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(12), default="open")
    outcome: Mapped[str | None] = mapped_column(String(24))
    deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the sweep next acts on it (a deadline, a reminder); None: nothing to do.
    next_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    person: Mapped[Person] = relationship(foreign_keys=[person_id])
    assignee: Mapped[Person | None] = relationship(foreign_keys=[assignee_id])


class Timer(Base):
    """One thing that falls due once (the reminders around a task: the evening before, an hour
    before, "did it happen?", an unclaimed request, "still needed?"). ``key`` makes writing it
    twice harmless: ``<kind>:<request id>[:<local iso>]``."""

    __tablename__ = "timers"
    __table_args__ = (Index("ix_timers_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[str] = mapped_column(String(24))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[int | None] = mapped_column(ForeignKey("help_requests.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    followup_id: Mapped[int | None] = mapped_column(ForeignKey("followups.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="pending")  # pending | done | cancelled | missed
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    leased_by: Mapped[str | None] = mapped_column(String(64))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SweepRun(Base):
    """The last run of each sweep (any process): what /healthz reports across instances."""

    __tablename__ = "sweep_runs"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    last_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_count: Mapped[int] = mapped_column(Integer, default=0)
