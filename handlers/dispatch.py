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
from typing import Callable, NamedTuple

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, joinedload, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from handlers import (account, alerts, ask, coordinator, free_text, offer, onboarding, optout,  # noqa: F401
                      payloads, signals, tasks, waiting)  # (importing them registers their steps)
# Flow modules that register their own steps, buttons, commands and sweeps (handlers/actions.py,
# handlers/sweeps.py) when imported -- one line each:
from handlers import checkins  # noqa: F401,E402  (check-ins, their ladder, follow-ups: handlers/followups.py)
from handlers import checkin_plan, same_phone  # noqa: F401,E402  (/checkin, the coordinator's enrolment, hello)
from handlers import reminders, rounds, week  # noqa: F401,E402  (around a task; phone rounds; /week)
from handlers import broadcasts, broadcast_chat  # noqa: F401,E402  (the engine and sweep; /broadcast)
from handlers import volunteers  # noqa: F401,E402  (a coordinator's volunteers: pending, notes, load)
from handlers import cases  # noqa: F401,E402  (concerns, referrals, problems; partners)
from handlers import socialmap  # noqa: F401,E402  (the directory: where can I go for ...?)
from handlers import digest  # noqa: F401,E402  (the weekly digest and the report's figures)
from handlers.actions import ACTIONS, COMMANDS
from handlers.answers import fold, is_bare, is_bare_yes, resolve
from handlers.core import (CONVERSATION_COLUMNS, STEP_TTL, Answer, Context, Conversation, Inbound, add_or_get,
                           clean_text, load_conversation)
from handlers.i18n import _, normalise_language, speaking
from handlers.keywords import URGENT
from handlers.keywords import signals as find_signals
from handlers.keywords import protective as protective_text
from handlers.lexicon import ALIASES, command_name  # command words are data: locales/lexicon/*/commands.txt
from handlers.menu import not_understood, show_menu
from handlers.ratelimit import DROP, WARN, RateLimiter
from handlers.steps import READS_YES, STEPS
from handlers.understand import Understanding
from models import Alert, ChannelIdentity, ConversationState, HelpRequest, InboundLog, Outbox, Person
from models.base import utcnow
from models.db import transaction, writer_turn

log = logging.getLogger("buurtbot.dispatch")



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
        # Emergencies, /stop, /delete, STOP, START are always handled: checked before anything is dropped.
        verdict = self.limiter.hit((inbound.channel, inbound.address), protective(inbound))
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
                    ctx.say(_("You are sending a lot of messages at once. Please slow down a little; I will read your "
                              "next message in a minute."))
                else:
                    route(ctx)
            ctx.write()

    def group_notice(self, channel: str, group_address: str, locale_hint: str | None) -> bool:
        """In a group chat the bot says once, politely, to write to it privately -- and reads
        nothing there: what neighbours share stays between them and the bot. The outbox key
        makes it once per group, whatever the number of messages or processes."""
        language = normalise_language(locale_hint)
        with speaking(language):
            text = _("Hello! I only talk in private chats, so that what neighbours share stays private. Please write "
                     "to me directly.")
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
                    sorry = _("Sorry, something went wrong on our side. Please try again, or type /menu.")
                    urgent = find_signals(clean_text(inbound.text)) & URGENT if not inbound.payload else set()
                    if urgent:  # the 112 answer is never lost to a failure after it (nobody else was told)
                        text, language = signals.emergency_text(ctx, urgent, told=0)
                        sorry = text + "\n\n" + sorry
                    ctx.say(sorry)
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


def protective(inbound: Inbound) -> bool:
    """No database: an opt-out/opt-in keyword payload, or protective words in the text."""
    return inbound.payload in optout.PAYLOADS or (not inbound.payload and protective_text(inbound.text or ""))


def _language(ctx: Context) -> str | None:
    if ctx.person is not None:
        return ctx.person.language
    return ctx.identity.language or normalise_language(ctx.inbound.locale_hint)


class Turn:
    """One message as the rules see it: read once (cleaned, folded, its signals found, the typed
    answer matched to the options on screen), then offered to each rule in order."""

    __slots__ = ("ctx", "text", "pressed", "kinds", "answer", "word", "_understood")

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.text = clean_text(ctx.inbound.text)
        #: The payload of a button pressed (None for a typed message).
        self.pressed = ctx.inbound.payload
        #: Signals of the words (after a /command, those typed with it: "/probleem hij ademt niet").
        self.kinds = find_signals(_typed_with(self.text)) if self.text and not self.pressed else _NO_SIGNALS
        self.answer = resolve(replace(ctx.inbound, text=self.text), ctx.state.options or [])
        #: The command a whole typed message names ("menu", "terug" -> "cancel"), if any.
        self.word = ALIASES.get(fold(self.text)) if self.text and not self.pressed and len(self.text) < 30 else None
        self._understood: Understanding | None | bool = False

    @property
    def understood(self) -> Understanding | None:
        """The typed message understood (language, request or offer, kind of help, when): read
        only when a rule asks, since most messages are answers to a question on screen."""
        if self._understood is False:
            self._understood = free_text.understood(self.ctx, self.text) if self.text and not self.pressed else None
        return self._understood


def _typed_with(text: str) -> str:
    """The words of a message without its /command ("/probleem" names no signal; what follows it may)."""
    return text.partition(" ")[2] if text.startswith("/") else text


_NO_SIGNALS: frozenset[str] = frozenset()
#: Commands that, typed alone, mean themselves at every step and are never taken as an answer.
GLOBAL_WORDS = frozenset({"menu", "help", "stop", "cancel"})
#: Steps whose text is a message to a person, not an answer the bot stores: a "ja" is passed on.
MESSAGE_STEPS = frozenset({"relay", "human.message", "alert.reply"})
#: Steps whose text is written for other people (an announcement, a worry, a street problem): after
#: the 112 answer they still get it, so that "Brand: verlaat het gebouw" in a fire-drill notice is not lost.
WRITTEN_FOR_OTHERS = frozenset({"bc.text", "bc.version", "case.concern", "case.problem"})


def _optout_payload(t: Turn) -> bool:
    """STOP/START/HELP keywords (the channel turned them into payloads): carriers require that they always work."""
    if t.pressed not in optout.PAYLOADS:
        return False
    optout.handle(t.ctx, t.pressed)
    return True


def _opted_out(t: Turn) -> bool:
    """An address that sent STOP hears nothing until START -- except 112, and /delete or /mydata (they ask)."""
    if t.ctx.identity.opted_out_at is None:
        return False
    if _data_command(t) in DATA_COMMANDS or t.ctx.state.step == "delete.confirm":
        return False  # seeing or erasing one's data is a right: the rules below answer it, to this address
    if t.kinds & {"emergency", "suicide"}:
        signals.emergency(t.ctx, t.kinds)
    elif fold(t.text.split(" ")[0]) == "start":
        optout.opt_in(t.ctx)
    return True


#: Commands an opted-out address may still use: what we keep about them, and erasing it.
DATA_COMMANDS = frozenset({"delete", "mydata"})


def _data_command(t: Turn) -> str | None:
    """The command a typed message names, slashed ("/verwijder") or not ("mydata")."""
    if t.pressed or not t.text:
        return None
    if t.text.startswith("/"):
        return ALIASES.get(fold(t.text[1:].partition(" ")[0].split("@")[0]))
    return t.word


def _slash_command(t: Turn) -> bool:
    """A /command is unambiguous: it means itself whatever question is open."""
    if not t.text.startswith("/"):
        return False
    command(t.ctx, t.text)
    return True


def _emergency(t: Turn) -> bool:
    """Someone in danger gets 112 before anything else the words could mean, also typed after a /command."""
    if not t.kinds & URGENT:
        return False
    signals.emergency(t.ctx, t.kinds)
    # Then what was asked is still done: the command ("/probleem ...": the case too), or the
    # step whose text is meant for others (the announcement goes on to its audience question).
    if t.text.startswith("/"):
        command(t.ctx, t.text)
    elif t.ctx.person is not None and t.ctx.state.step in WRITTEN_FOR_OTHERS:
        answer_question(t)
    return True


def _global_word(t: Turn) -> bool:
    """"menu", "stop", "help", "terug"... typed alone work at every step (onboarding too) and are never an answer."""
    if t.word not in GLOBAL_WORDS:
        return False
    command(t.ctx, "/" + t.word)
    return True


def _expired_button(t: Turn) -> bool:
    """A button of an earlier screen answers nothing now: said so before onboarding or a step reads it as an answer."""
    if not t.pressed:
        return False
    ctx, parsed = t.ctx, payloads.parse(t.pressed)
    if ctx.person is not None and parsed is not None and parsed.is_global:
        return False  # a notification's or menu's button works from anywhere (checked by global_button)
    on_screen = any(o.get("payload") == t.pressed for o in ctx.state.options or [])
    if on_screen and (ctx.person is None or ctx.state.step in STEPS):
        return False
    expired(ctx)
    return True


def _onboarding(t: Turn) -> bool:
    """Someone who has not joined can only join: every rule below needs a person."""
    ctx = t.ctx
    if ctx.person is not None:
        return False
    if ctx.state.step.startswith("onboard.") and ctx.state.step in STEPS:
        answer_question(t)
    elif not (t.text and not t.pressed and onboarding.first_words(ctx, t.text)):  # a sentence: in its own language
        onboarding.start(ctx, None)
    return True


def _several_waiting(t: Turn) -> bool:
    """A bare "ja" or "1" with several notifications waiting could mean any of them: never guess, ask which."""
    ctx = t.ctx
    if ctx.state.step or t.pressed or not waiting.several(ctx.state.options) or not is_bare(t.text):
        return False
    waiting.ask_which(ctx)
    return True


def _global_button(t: Turn) -> bool:
    """A notification's or the menu's button works from anywhere, even pressed hours later mid-question."""
    return bool(t.answer.payload) and global_action(t.ctx, t.answer.payload)


def _open_question(t: Turn) -> bool:
    """What is left answers the question on screen (typed words below only mean themselves without one)."""
    if t.ctx.state.step not in STEPS:
        return False
    answer_question(t)
    return True


def _typed_command(t: Turn) -> bool:
    """A command word typed without its slash ("taal", "vraag") when no question is open."""
    if t.word is None:
        return False
    command(t.ctx, "/" + fold(t.text))
    return True


def _concern(t: Turn) -> bool:
    """A worry about a neighbour goes to the coordinator before any reading of it as small talk."""
    if "concern" not in t.kinds:
        return False
    signals.concern(t.ctx, t.text)
    return True


def _problem(t: Turn) -> bool:
    """A problem in the street (a broken street light) goes to the coordinator for the commune; help asked is asked."""
    if "problem" not in t.kinds or t.kinds & {"concern", "company"}:
        return False
    if _asks_more_than_the_problem(t.understood):
        # "Can someone do my shopping? The street light is broken...": never a request silently
        # turned into a case. Both: the problem passed on (said in one line), the help asked as usual.
        cases.pass_on_problem(t.ctx, t.text)
        return _offer_in_words(t) or _request_in_words(t)
    cases.report_problem(t.ctx, t.text)
    return True


def _asks_more_than_the_problem(u: Understanding | None) -> bool:
    """Help offered, or asked of a kind the problem is not: "Le lampadaire est en panne" reads as a
    repair, which is the problem itself (for the commune); "do my shopping" is more."""
    if u is None or not free_text.names_help(u):
        return False
    return u.kind == "offer" or free_text.named_category(u) not in (None, "repair")


def _media_only(t: Turn) -> bool:
    """A photo or voice note without words, outside a question: thanked, never dropped in silence."""
    if not t.ctx.inbound.media or t.text:
        return False
    signals.media_only(t.ctx)
    return True


def _company(t: Turn) -> bool:
    """Loneliness words: an offer of a call or a visit, unless the words ask for a professional."""
    if "company" not in t.kinds or "professional" in t.kinds:
        return False
    signals.company(t.ctx, t.text)
    return True


def _professional(t: Turn) -> bool:
    """A need for a professional service: a referral (after everything more urgent or more personal)."""
    if "professional" not in t.kinds:
        return False
    signals.professional(t.ctx, t.text)  # asked, never diverted
    return True


def _service_question(t: Turn) -> bool:
    """A question about where to go ("Welk sociaal vervoer bestaat er?"): the map answers; volunteers still offered."""
    if t.pressed or not t.text or not socialmap.asks_where(t.text):
        return False
    socialmap.answer_question(t.ctx, t.text)
    return True


def _other_language(t: Turn) -> bool:
    """A language buurtbot does not speak: never dropped -- acknowledged, and passed to people who speak it."""
    u = t.understood
    if u is None or u.language != "other" or not free_text.is_sentence(t.text):
        return False
    signals.foreign(t.ctx, t.text, u.other_language)
    return True


def _offer_in_words(t: Turn) -> bool:
    """Words that offer help ("I'm going to the shop anyway"): the open requests of that kind, or the offer flow."""
    u, ctx = t.understood, t.ctx
    if u is None or u.kind != "offer":
        return False
    free_text.suggest_language(ctx, u)
    kind = free_text.named_category(u)
    if ctx.person.is_volunteer:
        tasks.show_open(ctx, kind)  # (not approved yet: it says so)
    else:
        offer.start_offer(ctx, _("Thank you for offering help! A few questions first."), kind=kind)
    return True


def _request_in_words(t: Turn) -> bool:
    """Words that ask for or name a kind of help: proposed back, and posted only after a yes."""
    u, ctx = t.understood, t.ctx
    if u is None or not free_text.names_help(u):
        return False
    free_text.suggest_language(ctx, u)
    if free_text.named_category(u):
        ask.propose(ctx, u, t.text)
    else:  # help asked without naming which: the category question, their words kept as the description
        ask.start_ask(ctx)
        ctx.goto("ask.category", description=clean_text(t.text, 500))
    return True


def _not_understood(t: Turn) -> bool:
    """Nothing above understood it: say so, and show what can be done."""
    if t.understood is not None:
        free_text.suggest_language(t.ctx, t.understood)
    not_understood(t.ctx)
    return True


class Rule(NamedTuple):
    name: str
    handle: Callable[[Turn], bool]

    @property
    def why(self) -> str:
        return (self.handle.__doc__ or "").strip().splitlines()[0]


#: The order is the policy: the first rule that takes the message handles it.
RULES: tuple[Rule, ...] = (
    Rule("optout_payload", _optout_payload),
    Rule("opted_out", _opted_out),
    Rule("emergency", _emergency),
    Rule("slash_command", _slash_command),
    Rule("global_word", _global_word),
    Rule("expired_button", _expired_button),
    Rule("onboarding", _onboarding),
    Rule("several_waiting", _several_waiting),
    Rule("global_button", _global_button),
    Rule("open_question", _open_question),
    Rule("typed_command", _typed_command),
    Rule("concern", _concern),
    Rule("problem", _problem),
    Rule("media_only", _media_only),
    Rule("company", _company),
    Rule("professional", _professional),
    Rule("service_question", _service_question),
    Rule("other_language", _other_language),
    Rule("offer_in_words", _offer_in_words),
    Rule("request_in_words", _request_in_words),
    Rule("not_understood", _not_understood),
)


def route(ctx: Context) -> str:
    """Hand the message to the first rule that takes it; returns that rule's name."""
    turn = Turn(ctx)
    for rule in RULES:
        if rule.handle(turn):
            if log.isEnabledFor(logging.DEBUG):
                log.debug("routed by %s", rule.name)
            return rule.name
    raise AssertionError("not_understood takes every message")


def answer_question(t: Turn) -> None:
    """The open question gets the answer -- unless it is a typed number that names none of its
    options, or a bare "yes" where it offers no yes (meant for something else): then it is
    asked again, and nothing is stored. Steps that read a yes themselves (READS_YES) say why."""
    ctx, answer = t.ctx, t.answer
    stray_yes = (answer.payload is None and ctx.state.step not in MESSAGE_STEPS | READS_YES
                 and is_bare_yes(t.text) and not ctx.inbound.media)
    if answer.stray_number or stray_yes:
        reask(ctx)
    else:
        STEPS[ctx.state.step](ctx, answer)


def reask(ctx: Context) -> None:
    """The open question again: every step asks its question again when given no answer."""
    STEPS[ctx.state.step](ctx, Answer("", None))


def expired(ctx: Context) -> None:
    """An old button (its screen, step or record is gone): say so, and show what can be done now --
    the open question, the menu, or for someone who has not joined, the start."""
    notice = _("This button is no longer valid.")
    if ctx.state.step in STEPS:
        ctx.say(notice)
        reask(ctx)
    elif ctx.person is None:
        ctx.say(notice)
        onboarding.start(ctx, None)
    else:
        show_menu(ctx, notice + "\n" + _("What would you like to do?"))


def cancel(ctx: Context) -> None:
    """"terug", "annuleer", /cancel: leave the open question, keeping nothing half-written."""
    ctx.clear()
    if ctx.person is None:
        onboarding.start(ctx, None)
    else:
        show_menu(ctx, _("All right, we leave that. What would you like to do?"))


def command(ctx: Context, text: str) -> None:
    word, _sep, rest = text[1:].partition(" ")
    name = ALIASES.get(fold(word.split("@")[0]))
    if name == "start":
        onboarding.start(ctx, rest.strip() or None)
    elif name == "language":
        onboarding.ask_language(ctx, "language" if ctx.person else "onboard.language")
    elif name == "cancel":
        cancel(ctx)
    elif ctx.person is None:
        said = (ctx.data("said") or {}).get("text")
        if name == "mydata" and said:  # a newcomer's first message, kept to answer it once they join
            ctx.say(_("Until you join, we keep only your language and your message: “{text}”. Type {command} to "
                      "erase it.", text=said, command="/" + command_name("delete", ctx.identity.language)))
        elif name in ("mydata", "delete"):
            if name == "delete":
                ctx.clear()  # the newcomer's kept first message goes too
            ctx.say(_("We do not keep anything about you. Type /start to join."))
        elif name == "stop":
            ctx.clear()
            ctx.say(_("All right. You will not hear from us. Type /start if you change your mind."))
        else:
            onboarding.start(ctx, None)
    elif name is None:
        not_understood(ctx)
    elif name in COMMANDS:  # registered by a flow module (handlers/actions.py)
        COMMANDS[name](ctx)
    else:
        {"help": account.show_help, "menu": show_menu, "stop": account.stop, "mydata": account.show_my_data,
         "delete": account.ask_delete, "ask": ask.start_ask, "offer": offer.start_offer}[name](ctx)


def simple_actions() -> dict[str, Callable[[Context], None]]:
    """Buttons that mean the same wherever they are pressed (looked up when pressed, not bound at import)."""
    return {
        payloads.MENU: show_menu, payloads.HELP: account.show_help, payloads.HUMAN: signals.talk_to_person,
        payloads.ASK: ask.start_ask, payloads.OFFER: offer.start_offer, payloads.OPEN: tasks.show_open,
        payloads.MINE: tasks.show_mine, payloads.TASKS: tasks.show_tasks, payloads.COORD: coordinator.coordinator_menu,
        payloads.CALL_ME: signals.call_me, payloads.VISIT: ask.start_visit,
    }


def request_actions() -> dict[str, Callable[[Context, str], None]]:
    """Buttons about one help request: ``kind:<request id>``."""
    return {"claim": tasks.do_claim, "handback": tasks.do_hand_back, "done": tasks.do_done,
            "cancel": tasks.do_cancel, "thanks": tasks.do_thanks, "msg": tasks.start_message}


def global_action(ctx: Context, payload: str) -> bool:
    """Buttons that work from anywhere (a notification pressed hours later). Each checks
    that this person may touch that record; a record that is gone means an expired button."""
    p = payloads.parse(payload)
    if p is None or not p.is_global:
        return False
    if p.kind in ACTIONS:  # registered by a flow module (handlers/actions.py); it checks its record itself
        ACTIONS[p.kind](ctx, p)
        return True
    # The record a button acts on, held here while its handler runs: the session's identity
    # map only keeps it while someone does, so the handler's own get() then costs no query.
    model = {payloads.VOLUNTEER: Person, payloads.ALERT: Alert}.get(p.kind)
    model = HelpRequest if p.kind in payloads.ON_REQUEST else model
    record = ctx.session.get(model, p.record_id) if model is not None and p.record_id is not None else None
    if p.kind in payloads.SIMPLE and not p.args:
        simple_actions()[p.kind](ctx)
    elif p.kind == payloads.COORD:
        coordinator.on_coordinator(ctx, p.rest)
    elif p.kind == payloads.ALERT and (record is not None or p.record_id is None):
        alerts.on_alert(ctx, p.rest)  # a malformed id is refused there; a gone alert has expired (below)
    elif record is not None and model is HelpRequest and len(p.args) == 1:
        request_actions()[p.kind](ctx, p.args[0])
    elif record is not None and model is Person and len(p.args) == 2:
        coordinator.on_volunteer_decision(ctx, p.args[0], p.args[1])
    else:
        expired(ctx)  # its record is gone (or never was): this button has expired
    return True
