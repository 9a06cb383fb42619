"""The weekly hello: "Good morning Maria, this is Fatima from the wijkhuis. All well?" -- by
chat or by phone -- its answers (1 all well, 2 please call me, 3 I need help with something),
and the ladder that climbs when nobody answers (retry, a second channel, the buddy at the
door, the coordinator). The ladder is the plan's data; an occurrence's ``next_at`` is when
its next rung is due and ``ladder_index`` which one. Every step is a CheckinAttempt.

What buurtbot says first waits for the end of the person's quiet hours and counts against
the weekly cap (handlers/quiet.py); someone who asked for quiet (/stop, STOP) gets no hello
and no knock on the door."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handlers import answers, ask, plans_due, quiet
from handlers.actions import action
from handlers.alerts import phone_of
from handlers.core import CONVERSATION_COLUMNS, Context, Conversation, Notifier, Option
from handlers.followups import (alert_coordinator, attempt, coordinators_for, give_callback, give_lookin,
                                identities_besides, log_attempt, log_attempts)
from handlers.i18n import DEFAULT_LANGUAGE, _, speaking
from handlers.menu import show_menu
from handlers.payloads import Payload, parse
from handlers.quiet import quiet_until, said_first_this_week
from handlers.sweeps import claim, sweep
from models import ChannelIdentity, ConversationState, Person
from models.base import TZ
from models.schedules import DEFAULT_LADDER, CheckinAttempt, CheckinOccurrence, CheckinPlan, FollowUp

#: The button words and the answers they store.
ANSWERS = {"ok": "ok", "call": "call_me", "help": "help"}
#: A call whose outcome never comes back (the voice channel is down) still moves up the
#: ladder, this much later than a message would.
VOICE_WAIT_MINUTES = 60
#: The attempts that contacted the person (the hello and the rungs that say it again).
CONTACT_STEPS = ("checkin", "retry", "second_channel")
#: Occurrences an answer still counts for (a late answer stops the buddy going).
OPEN = ("waiting", "escalated")
answers.MEANS["yes"].add(("ci", "ok"))  # "ja", "oui", "yes" to "All well?" is all well


def ladder_of(plan: CheckinPlan) -> list[dict]:
    return plan.ladder or DEFAULT_LADDER


def _schedule_next(occ: CheckinOccurrence, at: datetime, wait: int = 0) -> None:
    """The next rung falls due its ``after`` minutes after ``at``; none left: nothing more."""
    ladder = ladder_of(occ.plan)
    occ.next_at = (at + timedelta(minutes=int(ladder[occ.ladder_index].get("after", 0)) + wait)
                   if occ.ladder_index < len(ladder) else None)


def _sender(plan: CheckinPlan) -> str:
    nb = plan.person.neighbourhood
    return plan.sender_name or (nb.contact_name if nb is not None and nb.contact_name else _("your neighbourhood team"))


def greeting(plan: CheckinPlan, at: datetime) -> str:
    """"Good morning Maria, this is Fatima from the wijkhuis." by the local time of day."""
    hour, name, sender = at.astimezone(TZ).hour, plan.person.first_name, _sender(plan)
    if hour < 12:
        return _("Good morning {name}, this is {sender}.", name=name, sender=sender)
    if hour < 18:
        return _("Good afternoon {name}, this is {sender}.", name=name, sender=sender)
    return _("Good evening {name}, this is {sender}.", name=name, sender=sender)


def _options(occ_id: int) -> list[Option]:
    return [Option(_("Yes, all well"), f"ci:ok:{occ_id}"), Option(_("Please call me"), f"ci:call:{occ_id}"),
            Option(_("Help with something"), f"ci:help:{occ_id}")]


def contact(session: Session, occ: CheckinOccurrence, now: datetime, *, step: str, channel: str | None = None) -> bool:
    """Say hello for ``occ`` (step "checkin", or a rung: "retry", "second_channel") on the
    plan's channel or ``channel``, and set when the ladder next acts. False when nothing was
    sent: the person asked for quiet or is over the weekly cap (the occurrence is closed), or
    has no reachable address there (the ladder goes on at once)."""
    return contact_many(session, [occ], now, step=step, channel=channel)[occ.id]


def contact_many(session: Session, occs: list[CheckinOccurrence], now: datetime, *, step: str = "checkin",
                 channel: str | None = None) -> dict[int, bool]:
    """contact() for a sweep's batch: their people, addresses, weekly counts and conversations
    in four queries, and all rows in one INSERT (one at a time, 5,000 hellos would take seconds).
    Returns {occurrence id: sent}."""
    sent: dict[int, bool] = {}
    rounds = [o for o in occs if o.plan.kind == "round"]
    if rounds:  # a volunteer phones them: the caller is reminded instead
        from handlers import rounds as human_rounds

        sent.update({o.id: bool(human_rounds.remind_caller(session, o, now)) for o in rounds})
    occs = [o for o in occs if o.plan.kind != "round"]
    if not occs:
        return sent
    person_ids = list({o.person_id for o in occs})
    with session.no_autoflush:  # nothing pending changes these answers: one flush, in write()
        # Held while the batch runs: the session keeps loaded objects only while someone does
        # (a list dropped at once cost a query per hello when occ.person was read).
        people = {p.id: p for p in session.scalars(select(Person).where(Person.id.in_(person_ids)))}
        addresses = _identities(session, person_ids)
        said = said_first_this_week(session, person_ids, now)
    notifier = Notifier(session, "checkin", now=now)
    notifier.conversations.update(_conversations(session, [i.id for i in addresses.values()]))
    attempts = []
    for occ in occs:
        plan, person = occ.plan, people[occ.person_id]
        where = channel or plan.channel
        key = f"checkin:{occ.id}:{step}" if step == "checkin" else f"checkin:{occ.id}:{step}:{occ.ladder_index}"
        identity = addresses.get((person.id, where))
        outcome = _cannot(person, identity, said.get(person.id, 0))
        if outcome is not None:
            attempts.append(attempt(occ, person.id, step, outcome, now, channel=where))
            if outcome == "unreachable":
                occ.next_at = now
            else:
                occ.status, occ.next_at, occ.closed_at = "closed", None, now
            sent[occ.id] = False
            continue
        quiet_end = quiet_until(now, plan.quiet_start, plan.quiet_end)  # the plan's quiet hours are theirs
        if quiet_end is not None:
            # Nothing is written now: a row waiting for the morning would hold back every later
            # message to them (one chat's messages keep their order), an answer to 112 words too.
            # The ladder sweep says this hello at the end of the quiet hours (see climb).
            attempts.append(attempt(occ, person.id, step, "postponed", now, channel=where))
            occ.next_at = quiet_end
            sent[occ.id] = True
            continue
        before = len(notifier.outgoing)
        _hello(notifier, occ, identity, now)
        for row in notifier.outgoing[before:]:
            row["idempotency_key"] = f"{key}:1"  # one row per hello: its key is the occurrence's and the step's
        said[person.id] = said.get(person.id, 0) + 1
        attempts.append(attempt(occ, person.id, step, "queued", now, channel=where, key=f"{key}:1"))
        _schedule_next(occ, now, VOICE_WAIT_MINUTES if where == "voice" else 0)
        sent[occ.id] = True
    notifier.write()
    log_attempts(session, attempts)
    return sent


def _cannot(person: Person, identity: ChannelIdentity | None, said_this_week: int) -> str | None:
    """Why no hello goes: "stopped" (they asked for quiet), "unreachable", "capped"; None: it goes."""
    if person.do_not_contact or person.paused or (identity is not None and identity.opted_out_at is not None):
        return "stopped"
    if identity is None:
        return "unreachable"
    return "capped" if said_this_week >= quiet.WEEKLY_CAP else None  # (read when used: the runner may set it)


def _hello(notifier: Notifier, occ: CheckinOccurrence, identity: ChannelIdentity, send_at: datetime) -> None:
    plan, person = occ.plan, occ.person
    if identity.channel == "voice":  # the whole prompt, written to be heard: the options last
        with speaking(person.language):
            text = greeting(plan, send_at) + " " + _("All well? Press 1 if all is well. Press 2 if you would like a "
                                                     "call. Press 3 if you need help with something.")
            options = _options(occ.id)
        notifier.add("voice", identity.address, identity.id, text, options, purpose="checkin", language=person.language)
    else:
        notifier.tell_identity(identity, lambda: (greeting(plan, send_at) + "\n" + _("All well?"), _options(occ.id)),
                               purpose="checkin")


def _identities(session: Session, person_ids: list[int]) -> dict[tuple[int, str], ChannelIdentity]:
    """{(person id, channel): the active identity there they used last}."""
    found: dict[tuple[int, str], ChannelIdentity] = {}
    for identity in session.scalars(select(ChannelIdentity).where(
            ChannelIdentity.person_id.in_(person_ids), ChannelIdentity.active.is_(True))
            .order_by(ChannelIdentity.last_inbound_at.desc().nulls_last(), ChannelIdentity.id.desc())):
        found.setdefault((identity.person_id, identity.channel), identity)
    return found


def _conversations(session: Session, identity_ids: list[int]) -> dict[int, Conversation]:
    """The conversations the hellos join (their options become what a typed "1" means)."""
    found = {i: Conversation(i) for i in identity_ids}
    if identity_ids:
        states = ConversationState.__table__
        for row in session.connection().execute(select(*CONVERSATION_COLUMNS).where(
                states.c.identity_id.in_(identity_ids))):
            found[row[0]] = Conversation.from_row(row[0], *row)
    return found


# ---- the ladder ------------------------------------------------------------------------------

@sweep("ladder")
def sweep_ladder(session: Session, now: datetime) -> int:
    """Occurrences nobody answered in time climb one rung (or more: a rung that cannot be
    taken -- no second channel, no buddy -- passes straight to the next)."""
    due = claim(session, select(CheckinOccurrence).where(CheckinOccurrence.status == "waiting",
                                                         CheckinOccurrence.next_at <= now)
                .order_by(CheckinOccurrence.next_at, CheckinOccurrence.id), CheckinOccurrence, now)
    for occ in due:
        climb(session, occ, now)
    return len(due)


def climb(session: Session, occ: CheckinOccurrence, now: datetime) -> None:
    plan, person = occ.plan, occ.person
    if plan.status != "active":  # paused (a holiday, the hospital) or stopped since: nobody goes to the door
        occ.status, occ.next_at, occ.closed_at = "closed", None, now
        log_attempt(session, occ, person.id, "ladder", plan.status, now)
        return
    if _wrote_since(session, occ):  # they wrote something else ("not so good..."): reached, and answered there
        occ.status, occ.answer, occ.answered_at, occ.next_at = "answered", "wrote", now, None
        log_attempt(session, occ, person.id, "answer", "wrote", now)
        return
    postponed = _postponed(session, occ)
    if postponed is not None:  # a hello (or a rung) kept for the end of the quiet hours: said now
        contact(session, occ, now, step=postponed.step, channel=postponed.channel)
        return
    ladder = ladder_of(plan)
    # Found long after its time (buurtbot was down): "All well?" again days later would puzzle
    # the person, so the rungs that ask them again are passed; the people rungs still run.
    late = occ.next_at is not None and now - occ.next_at > timedelta(minutes=plans_due.GRACE)
    while occ.status == "waiting" and occ.ladder_index < len(ladder):
        rung = ladder[occ.ladder_index]
        occ.ladder_index += 1
        kind = rung.get("step")
        if late and kind in ("retry", "second_channel"):
            log_attempt(session, occ, person.id, kind, "late", now)
        elif kind == "retry":
            if contact(session, occ, now, step="retry"):
                return
        elif kind == "second_channel":
            others = identities_besides(session, person, plan.channel)
            if others and contact(session, occ, now, step="second_channel", channel=others[0].channel):
                return
            if not others:
                log_attempt(session, occ, person.id, "second_channel", "skipped", now)
        elif kind == "buddy":
            fu = give_lookin(session, occ, plan.buddy, int(rung.get("deadline", 60)), now) \
                if plan.buddy is not None else None
            if fu is not None:
                occ.status, occ.next_at = "escalated", None
                return
            log_attempt(session, occ, person.id, "buddy", "skipped", now)
        elif kind == "coordinator":
            occ.status, occ.next_at = "escalated", None
            alert_coordinator(session, occ, "no_answer", now)
            return
        else:
            log_attempt(session, occ, person.id, str(kind)[:20], "skipped", now)
    if occ.status == "waiting":
        occ.next_at = None


def _postponed(session: Session, occ: CheckinOccurrence) -> CheckinAttempt | None:
    """The last contact of ``occ``, if it was kept for the end of the quiet hours."""
    last = session.scalars(select(CheckinAttempt).where(
        CheckinAttempt.occurrence_id == occ.id, CheckinAttempt.step.in_(CONTACT_STEPS))
        .order_by(CheckinAttempt.id.desc()).limit(1)).first()
    return last if last is not None and last.outcome == "postponed" else None


def _wrote_since(session: Session, occ: CheckinOccurrence) -> bool:
    """Whether the person wrote to buurtbot after the hello was queued (the dispatcher answered it)."""
    return session.scalar(select(ChannelIdentity.id).where(
        ChannelIdentity.person_id == occ.person_id, ChannelIdentity.last_inbound_at > occ.created_at).limit(1)) \
        is not None


# ---- answers ---------------------------------------------------------------------------------

def _answerable(session: Session, payload: str | None) -> tuple[CheckinOccurrence | None, str | None]:
    p = parse(payload)
    if p is None or p.kind != "ci" or len(p.args) != 2 or p.args[0] not in ANSWERS or p.record_id is None:
        return None, None
    return session.get(CheckinOccurrence, p.record_id), ANSWERS[p.args[0]]


def _record(session: Session, occ: CheckinOccurrence, answer: str, now: datetime, channel: str) -> None:
    """The person answered: the ladder stops, and a buddy on the way is told they need not go."""
    told_coordinator = occ.status == "escalated" and session.scalar(select(CheckinAttempt.id).where(
        CheckinAttempt.occurrence_id == occ.id, CheckinAttempt.step == "coordinator",
        CheckinAttempt.outcome != "nobody").limit(1)) is not None
    occ.status, occ.answer, occ.answered_at, occ.next_at = "answered", answer, now, None
    log_attempt(session, occ, occ.person_id, "answer", answer, now, channel=channel, actor_id=occ.person_id)
    name = occ.person.first_name
    if told_coordinator:
        notifier = Notifier(session, f"checkin:{occ.id}:answered", now=now)
        notifier.tell_all(coordinators_for(session, occ.plan, occ.person),
                          lambda: (_("Good news: {name} has answered the check-in after all.", name=name), []),
                          about=occ.person_id, purpose="alert", even_if_paused=True)
        notifier.write()
    lookins = session.scalars(select(FollowUp).where(FollowUp.occurrence_id == occ.id, FollowUp.kind == "lookin",
                                                     FollowUp.status.in_(("open", "acknowledged")))).all()
    for fu in lookins:
        fu.status, fu.outcome, fu.next_at, fu.closed_at = "done", "answered", None, now
        notifier = Notifier(session, f"followup:{fu.id}:answered", now=now)
        notifier.tell(fu.assignee, lambda: (_("Good news: {name} has answered after all. No need to look in. Thank "
                                              "you!", name=name), []), purpose="followup", even_if_paused=True)
        notifier.write()


@action("ci")
def on_checkin(ctx: Context, p: Payload) -> None:
    """ci:ok / ci:call / ci:help :<occurrence>, pressed (or typed 1/2/3) by the person it asked."""
    occ, answer = _answerable(ctx.session, str(p))
    if occ is None or occ.person_id != ctx.person.id:
        from handlers.dispatch import expired  # the dispatcher imports this module

        expired(ctx)
        return
    name = ctx.person.first_name
    if occ.status == "answered":
        show_menu(ctx, _("You already answered this one. Thank you, {name}!", name=name))
        return
    if occ.status not in OPEN:
        show_menu(ctx, _("This hello is over. Thank you, {name}! If you need anything, I am here.", name=name))
        return
    _record(ctx.session, occ, answer, ctx.now, ctx.identity.channel)
    if answer == "ok":
        show_menu(ctx, _("Thank you, {name}! Good to hear. Have a nice day.", name=name))
    elif answer == "help":
        ask.start_ask(ctx, intro=_("Of course. Tell me what you need."))
    elif phone_of(ctx.person) is None:
        from handlers.signals import call_me  # no number to give a helper: asked for one (coordinators)

        call_me(ctx)
    else:
        helper = give_callback(ctx.session, occ, ctx.now)
        show_menu(ctx, _("Thank you. I have asked {helper} to call you.", helper=helper.first_name) if helper else
                  _("Thank you. I am sorry, nobody can call you right now. If it is urgent, call 112."))


def answer_by_voice(session: Session, payload: str, now: datetime) -> str:
    """A digit pressed in the call: the words to say back, in the person's language. 2 and 3
    both become a call-back (on a call there is no chat to ask in)."""
    occ, answer = _answerable(session, payload)
    if occ is None:
        with speaking(DEFAULT_LANGUAGE):
            return _("Thank you.")
    with speaking(occ.person.language):
        if occ.status not in OPEN:
            return _("Thank you.")
        _record(session, occ, answer, now, "voice")
        if answer == "ok":
            return _("Thank you. Good to hear.")
        helper = give_callback(session, occ, now, why=answer)
        if helper is None:
            return _("Thank you.")
        return _("Thank you. {helper} will call you soon.", helper=helper.first_name)


def call_ended(session: Session, occ_id: int, outcome: str, now: datetime) -> None:
    """A call that found nobody (busy, no-answer, failed, a machine, no digit): logged, and
    the next rung falls due ``after`` minutes from now."""
    occ = session.get(CheckinOccurrence, occ_id)
    if occ is None:
        return
    log_attempt(session, occ, occ.person_id, "call", outcome, now, channel="voice")
    if occ.status == "waiting":
        # From the call's end -- or from the time the call was asked for, when that is later: a
        # rehearsal's `buurtbot tick --at` ahead of the clock, whose next tick is ten minutes on.
        asked = session.scalar(select(func.max(CheckinAttempt.at)).where(
            CheckinAttempt.occurrence_id == occ.id, CheckinAttempt.step.in_(CONTACT_STEPS)))
        _schedule_next(occ, max(now, asked) if asked is not None else now)


def voicemail_text(session: Session, occ_id: int) -> str:
    """What an answering machine hears: a hello and "I will try again later", never the menu."""
    occ = session.get(CheckinOccurrence, occ_id)
    if occ is None:
        with speaking(DEFAULT_LANGUAGE):
            return _("Hello, this is buurtbot. I will try again later. Goodbye.")
    with speaking(occ.person.language):
        return _("Hello {name}, this is {sender}. I will try again later. Goodbye.", name=occ.person.first_name,
                 sender=_sender(occ.plan))
