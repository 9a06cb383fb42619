"""The one entry point for every channel: an Inbound in, outbox rows out, in ONE transaction.

Dedupe on the platform message id, load the person and their conversation state, run one
step, write the replies. If anything fails, everything of that message is rolled back and
the person gets a polite "please try again" instead of silence or a traceback.
"""
from __future__ import annotations

import logging
import random
import time
import traceback
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, joinedload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from handlers import account, alerts, ask, coordinator, offer, onboarding, optout, signals, tasks, waiting  # noqa: F401
from handlers.answers import fold, is_bare, resolve
from handlers.core import (CONVERSATION_COLUMNS, STEP_TTL, Context, Conversation, Inbound, add_or_get, clean_text,
                           load_conversation)
from handlers.i18n import _, normalise_language, speaking
from handlers.keywords import signals as find_signals
from handlers.menu import not_understood, show_menu
from handlers.ratelimit import DROP, WARN, RateLimiter
from handlers.steps import STEPS
from models import ChannelIdentity, ConversationState, InboundLog, Outbox
from models.base import utcnow
from models.db import transaction, writer_turn
from models.tasks import create_request

log = logging.getLogger("buurtbot.dispatch")

COMMANDS = {
    "start": ("start",), "help": ("help", "hulp", "aide"), "menu": ("menu",),
    "language": ("language", "taal", "langue"), "stop": ("stop", "stoppen", "arret"),
    "mydata": ("mydata", "mijngegevens", "mesdonnees"), "delete": ("delete", "verwijder", "supprimer"),
    "ask": ("ask", "vraag", "demande"), "offer": ("offer", "aanbod", "offre"),
}
ALIASES = {alias: name for name, aliases in COMMANDS.items() for alias in aliases}


class Duplicate(Exception):
    pass


INBOUND_TOUCH = timedelta(seconds=60)
#: Attempts per message when the database rolls a transaction back to resolve a conflict.
ATTEMPTS = 3
#: deadlock_detected, serialization_failure (PostgreSQL SQLSTATEs).
RETRY_SQLSTATES = {"40P01", "40001"}


def retryable(exc: DBAPIError) -> bool:
    return getattr(exc.orig, "sqlstate", None) in RETRY_SQLSTATES


class Dispatcher:
    def __init__(self, sessions: sessionmaker[Session], *, rate_limit: int = 20, rate_window: float = 60.0,
                 invite_link=None) -> None:
        self.sessions = sessions
        self.limiter = RateLimiter(rate_limit, rate_window)
        self._one_writer = writer_turn(sessions)  # SQLite: this process's writers take turns
        self.invite_link = invite_link or (lambda code: None)

    def handle(self, inbound: Inbound, prepare: Callable[[Session, Inbound], None] | None = None) -> str:
        """Returns "ok", "duplicate", "throttled" or "error" (the person was told).
        ``prepare``: a channel's own work for this message (Twilio links the same phone on
        WhatsApp and SMS), done first in the message's transaction."""
        verdict = self.limiter.hit((inbound.channel, inbound.address))
        if verdict == DROP:
            return "throttled"
        try:
            for attempt in range(1, ATTEMPTS + 1):
                try:
                    with self._one_writer:
                        self._once(inbound, verdict, prepare)
                    break
                except DBAPIError as exc:
                    if attempt == ATTEMPTS or not retryable(exc):
                        raise
                    # PostgreSQL chose this transaction as a deadlock victim (or a serialization
                    # failure): it was rolled back whole, so the message is simply run again.
                    log.info("dispatch retry %d on %s: %s", attempt, inbound.channel, type(exc.orig).__name__)
                    time.sleep(random.uniform(0, 0.01 * attempt))
            return "throttled" if verdict == WARN else "ok"
        except Duplicate:
            return "duplicate"
        except Exception as exc:  # noqa: BLE001 - the person must get an answer, whatever broke
            where = traceback.extract_tb(exc.__traceback__)[-1]
            log.error("dispatch failed on %s: %s at %s:%s", inbound.channel, type(exc).__name__,
                      where.filename.rsplit("/", 1)[-1], where.lineno)
            self._apologise(inbound)
            return "error"

    def _once(self, inbound: Inbound, verdict: str, prepare: Callable[[Session, Inbound], None] | None = None) -> None:
        """One attempt: the whole message in ONE transaction."""
        with self.sessions() as session, session.begin():
            if inbound.platform_message_id:
                _remember(session, inbound)
            if prepare is not None:
                prepare(session, inbound)
            ctx = self._context(session, inbound)
            with speaking(_language(ctx)):
                if verdict == WARN:
                    ctx.say(_("You are sending a lot of messages at once. Please slow down a little; I will read your next message in a minute."))
                else:
                    route(ctx)
            ctx.write()

    def group_notice(self, channel: str, group_address: str, locale_hint: str | None) -> bool:
        """In a group chat the bot says once, politely, to write to it privately -- and reads
        nothing there: what neighbours share stays between them and the bot. The outbox key
        makes it once per group, whatever the number of messages or processes."""
        language = normalise_language(locale_hint)
        with speaking(language):
            text = _("Hello! I only talk in private chats, so that what neighbours share stays private. Please write to me directly.")
        try:
            with transaction(self.sessions) as session:
                session.add(Outbox(idempotency_key=f"group-notice:{channel}:{group_address}"[:120], channel=channel,
                                   address=group_address, language=language or "nl", purpose="group", text=text))
        except IntegrityError:
            return False
        return True

    def _context(self, session: Session, inbound: Inbound) -> Context:
        # The identity, its person and its conversation in one query.
        row = session.execute(_SENDER, {"channel": inbound.channel, "address": inbound.address}).first()
        if row is None:
            identity, conversation = _newcomer(session, inbound)
        else:
            identity, conversation = row[0], Conversation.from_row(row[0].id, *row[1:])
        now = utcnow()
        if conversation.step and identity.last_inbound_at is not None and now - identity.last_inbound_at > STEP_TTL:
            conversation.step, conversation.data = "", {}  # a question walked away from: over
        # Minute precision is all the 24-hour windows need; skipping the UPDATE for someone in
        # a conversation saves a statement on most messages.
        if identity.last_inbound_at is None or now - identity.last_inbound_at > INBOUND_TOUCH or not identity.active:
            _touch(session, identity, now)
        return Context(session=session, inbound=inbound, identity=identity, state=conversation,
                       person=identity.person, invite_link=self.invite_link)

    def _apologise(self, inbound: Inbound) -> None:
        try:
            with transaction(self.sessions) as session:
                # Outbox keys of its own: the failed message's id is not recorded, so its retry
                # must be able to write "<id>:1" without hitting the apology's key.
                ctx = self._context(session, replace(inbound, platform_message_id=None))
                with speaking(_language(ctx)):
                    options = list(ctx.state.options or [])  # "try again": the typed "1", "2"... still work
                    ctx.say(_("Sorry, something went wrong on our side. Please try again, or type /menu."))
                    ctx.state.options = options
                ctx.write()
        except Exception as exc:  # noqa: BLE001
            log.error("apology failed on %s: %s", inbound.channel, type(exc).__name__)


def _newcomer(session: Session, inbound: Inbound) -> tuple[ChannelIdentity, Conversation]:
    """The first message from an address: its identity is inserted, unless another message
    from it is inserting it at this very moment (then that one's row and conversation)."""
    new = ChannelIdentity(channel=inbound.channel, address=inbound.address, last_inbound_at=utcnow(),
                          language=normalise_language(inbound.locale_hint))
    identity = add_or_get(session, new, lambda: session.scalar(select(ChannelIdentity).where(
        ChannelIdentity.channel == inbound.channel, ChannelIdentity.address == inbound.address)))
    if identity is new:
        return identity, Conversation(identity.id)
    return identity, load_conversation(session, identity.id)


def _touch(session: Session, identity: ChannelIdentity, now: datetime) -> None:
    """This address wrote now, so it is active: one Core UPDATE, the loaded identity given the
    values as committed. Through the unit of work it would cost several times more, and for
    most messages it would be the only ORM write."""
    session.connection().execute(_TOUCH, {"identity": identity.id, "now": now})
    set_committed_value(identity, "last_inbound_at", now)
    set_committed_value(identity, "active", True)


def _remember(session: Session, inbound: Inbound) -> None:
    """Record the platform message id, or raise Duplicate if it was seen before. One plain
    INSERT ... ON CONFLICT DO NOTHING (no unit-of-work flush, no failed statement): on
    PostgreSQL a concurrent delivery of the same id waits for the first and then inserts
    nothing."""
    values = {"channel": inbound.channel, "platform_message_id": str(inbound.platform_message_id)[:80],
              "received_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect in _UPSERT:
        if session.connection().execute(_UPSERT[dialect], values).first() is None:
            raise Duplicate
        return
    session.add(InboundLog(**values))
    try:
        session.flush()
    except IntegrityError as exc:
        raise Duplicate from exc


# Built once: the hot path reuses compiled statements instead of constructing them per message.
_UPSERT = {name: insert(InboundLog.__table__).on_conflict_do_nothing().returning(InboundLog.__table__.c.id)
           for name, insert in (("sqlite", sqlite_insert), ("postgresql", pg_insert))}
_TOUCH = (update(ChannelIdentity.__table__).where(ChannelIdentity.__table__.c.id == bindparam("identity"))
          .values(last_inbound_at=bindparam("now"), active=True))
_SENDER = (
    select(ChannelIdentity, *CONVERSATION_COLUMNS)
    .outerjoin(ConversationState, ConversationState.identity_id == ChannelIdentity.id)
    .options(joinedload(ChannelIdentity.person))
    .where(ChannelIdentity.channel == bindparam("channel"), ChannelIdentity.address == bindparam("address"))
)


def _language(ctx: Context) -> str | None:
    if ctx.person is not None:
        return ctx.person.language
    return ctx.identity.language or normalise_language(ctx.inbound.locale_hint)


def route(ctx: Context) -> None:
    text = clean_text(ctx.inbound.text)
    if ctx.inbound.payload in optout.PAYLOADS:
        optout.handle(ctx, ctx.inbound.payload)
        return
    if ctx.identity.opted_out_at is not None:  # this address sent STOP: silence until START
        kinds = find_signals(text) if text else set()
        if kinds & {"emergency", "suicide"}:
            signals.emergency(ctx, kinds)
        elif fold(text.split(" ")[0]) == "start":
            optout.opt_in(ctx)
        return
    if text.startswith("/"):
        command(ctx, text)
        return
    kinds = find_signals(text) if text and not ctx.inbound.payload else set()
    if kinds & {"emergency", "suicide"}:
        signals.emergency(ctx, kinds)
        return
    answer = resolve(Inbound(**{**ctx.inbound.__dict__, "text": text}), ctx.state.options or [])
    if ctx.person is None:
        if ctx.state.step.startswith("onboard.") and ctx.state.step in STEPS:
            STEPS[ctx.state.step](ctx, answer)
        else:
            onboarding.start(ctx, None)
        return
    if not ctx.state.step and not ctx.inbound.payload and waiting.several(ctx.state.options) and is_bare(text):
        waiting.ask_which(ctx)  # "ja" with two requests waiting: which one? never both, never a guess
        return
    if answer.payload and global_action(ctx, answer.payload):
        return
    if ctx.state.step in STEPS:
        STEPS[ctx.state.step](ctx, answer)
    elif fold(text) in ALIASES:
        command(ctx, "/" + fold(text))
    elif "concern" in kinds:
        signals.concern(ctx, text)
    elif ctx.inbound.media and not text:
        signals.media_only(ctx)
    elif "company" in kinds and "professional" not in kinds:
        signals.company(ctx, text)
    elif "professional" in kinds:
        signals.refer(ctx, create_request(ctx.session, ctx.person, "other", text[:500], "week", None, None,
                                          status="referred"))
    else:
        not_understood(ctx)


def command(ctx: Context, text: str) -> None:
    word, _sep, rest = text[1:].partition(" ")
    name = ALIASES.get(fold(word.split("@")[0]))
    if name == "start":
        onboarding.start(ctx, rest.strip() or None)
    elif name == "language":
        onboarding.ask_language(ctx, "language" if ctx.person else "onboard.language")
    elif ctx.person is None:
        if name in ("mydata", "delete"):
            ctx.say(_("We do not keep anything about you. Type /start to join."))
        elif name == "stop":
            ctx.clear()
            ctx.say(_("All right. You will not hear from us. Type /start if you change your mind."))
        else:
            onboarding.start(ctx, None)
    elif name is None:
        not_understood(ctx)
    else:
        {"help": account.show_help, "menu": show_menu, "stop": account.stop, "mydata": account.show_my_data,
         "delete": account.ask_delete, "ask": ask.start_ask, "offer": offer.start_offer}[name](ctx)


def global_action(ctx: Context, payload: str) -> bool:
    """Buttons that work from anywhere (a notification pressed hours later). Each checks
    that this person may touch that record; forged or stale ones get a kind refusal."""
    kind, _sep, arg = payload.partition(":")
    simple = {"menu": show_menu, "help": account.show_help, "human": signals.talk_to_person,
              "ask": ask.start_ask, "offer": offer.start_offer, "open": tasks.show_open, "mine": tasks.show_mine,
              "tasks": tasks.show_tasks, "coord": coordinator.coordinator_menu, "callme": signals.call_me,
              "visit": ask.start_visit}
    by_id = {"claim": tasks.do_claim, "handback": tasks.do_hand_back, "done": tasks.do_done,
             "cancel": tasks.do_cancel, "thanks": tasks.do_thanks, "msg": tasks.start_message}
    if not arg and kind in simple:
        simple[kind](ctx)
    elif kind in by_id:
        by_id[kind](ctx, arg)
    elif kind == "coord" and arg:
        coordinator.on_coordinator(ctx, arg)
    elif kind == "alert":
        alerts.on_alert(ctx, arg)
    elif kind == "vol":
        decision, _sep, raw = arg.partition(":")
        coordinator.on_volunteer_decision(ctx, decision, raw)
    else:
        return False
    return True
