"""Conversation state, the outbox, inbound dedupe and the audit trail.

Conversation state is a row, not process memory, so any instance can take any message and a
restart loses nothing. The audit log records who did what to which record, never content.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UTCDateTime, utcnow


class ConversationState(Base):
    __tablename__ = "conversation_states"

    identity_id: Mapped[int] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32), default="")
    step: Mapped[str] = mapped_column(String(32), default="")
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    options: Mapped[list] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Outbox(Base):
    """A message to deliver. Channel senders drain it; the idempotency key makes a retried
    write harmless. ``about_person_id`` names whose personal data the text carries, so that
    erasing that person can redact it."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_due", "channel", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(120), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(64), index=True)
    identity_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_identities.id", ondelete="SET NULL"), index=True
    )
    about_person_id: Mapped[int | None] = mapped_column(Integer, index=True)
    language: Mapped[str] = mapped_column(String(8), default="nl")
    purpose: Mapped[str] = mapped_column(String(32), default="reply")
    #: Lower goes first (models.outbox.PRIORITY): a reply in a conversation before a check-in,
    #: a check-in before a broadcast -- bulk never delays a person waiting for an answer.
    priority: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    text: Mapped[str] = mapped_column(Text)
    options: Mapped[list] = mapped_column(JSON, default=list)
    media: Mapped[list] = mapped_column(JSON, default=list, server_default="[]")
    status: Mapped[str] = mapped_column(String(12), default="pending")
    #: The sender instance that leased the row ("sending") or sent it (see OutboxSender):
    #: a row leased by a sender that is gone is taken over at once, not after the lease.
    leased_by: Mapped[str | None] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    platform_message_id: Mapped[str | None] = mapped_column(String(64), index=True)
    error: Mapped[str | None] = mapped_column(String(200))
    #: What the platform reported after the hand-off (Twilio: queued, sent, delivered, read,
    #: failed, undelivered) and its error code: "sent" in ``status`` only means it was accepted.
    delivery_status: Mapped[str | None] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(8))
    purge_after_send: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SenderHeartbeat(Base):
    """A live outbox sender instance (bot/channels/outbox_sender.py): it beats every few
    seconds; rows leased by an owner without a fresh beat, or whose process is gone from this
    host, are taken over by the next sender instead of waiting out their lease."""

    __tablename__ = "outbox_senders"

    owner: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    host: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundLog(Base):
    """Platform message ids already processed: a replayed webhook is handled once."""

    __tablename__ = "inbound_log"
    __table_args__ = (UniqueConstraint("channel", "platform_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    platform_message_id: Mapped[str] = mapped_column(String(80))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AuditLog(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
