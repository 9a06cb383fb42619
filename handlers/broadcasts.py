"""Broadcasts: the audience and its preview, materialising recipients in batches (the
``broadcasts`` sweep), and the author's progress and summary. The chat flow is
handlers/broadcast_chat.py, the command line bot/cli_broadcast.py; both call this API.

Who gets it is decided here once, for the preview and for the sending alike (``_plan``): the
people of the broadcast's neighbourhood in its audience, each on the channel a notification
would take (handlers.core.reachable), or left out with a reason (SKIP_REASONS). Recipients are
materialised in person-id order, BATCH at a time, each batch with the cursor in ONE
transaction: a crash resumes at the cursor, nobody twice (the outbox key
``broadcast:<id>:<person id>`` is unique), nobody missed."""
from __future__ import annotations

import math
import re
import unicodedata
from collections import Counter
from itertools import groupby
from dataclasses import dataclass
from datetime import datetime
from typing import Sequence

from sqlalchemy import insert, or_, select, update
from sqlalchemy.orm import Session

from handlers.core import Notifier, Option, Reach, reachable
from handlers.i18n import N_, _, ngettext, normalise_language, speaking
from handlers import quiet as quiet_rules
from handlers.quiet import quiet_until
from handlers.sweeps import BATCH, claim, sweep
from models import ChannelIdentity, Outbox, Person
from models.broadcasts import ANSWER_KINDS, AUDIENCES, SKIP_REASONS, Broadcast, BroadcastRecipient
from models.people import Neighbourhood
from models.schedules import CheckinPlan

#: Messages a second each channel may carry (the runner sets them from the settings).
RATES = {"telegram": 30.0, "whatsapp": 10.0, "sms": 1.0, "voice": 1.0}
#: The price of one SMS segment in euros (settings.sms_segment_price_eur).
SMS_SEGMENT_PRICE = 0.09
PURPOSE = "broadcast"
#: A broadcast's text at most: one WhatsApp message / ten SMS segments, with room for the header.
MAX_LENGTH = 1500
#: Below this many recipients the author gets only the final summary, no progress messages.
PROGRESS_FROM = 100
#: Progress is told when these shares of the rows have gone (a long SMS broadcast takes hours).
PROGRESS_STEPS = (0.25, 0.5, 0.75)
#: The answer buttons, as recipients see them (in their language).
BUTTON_LABELS = {"coming": N_("I'm coming"), "pickup": N_("Please pick me up")}
#: Channels whose "sent" means it is in the chat (no delivery receipts come back).
NO_RECEIPTS = frozenset({"telegram", "demo"})
#: Outbox states of a row still on its way; "held" waits for the person to write (WhatsApp window).
ON_ITS_WAY = ("pending", "sending")
#: Why create() refuses (ValueError's message).
REASONS = ("no_text", "too_long", "base_language", "audience", "button", "not_coordinator", "send_at")


@dataclass(frozen=True)
class Audience:
    """Who: one of AUDIENCES, optionally narrowed (None = not narrowed)."""

    kind: str = "everyone"
    language: str | None = None
    street: str | None = None
    postcode: str | None = None


def audience_of(bc: Broadcast) -> Audience:
    return Audience(bc.audience, bc.audience_language, bc.audience_street, bc.audience_postcode)


# ---- writing one ----------------------------------------------------------------------------

def create(session: Session, nb: Neighbourhood, author: Person | None, texts: dict[str, str], base_language: str,
           audience: Audience, *, buttons: Sequence[str] = (), send_at: datetime | None = None,
           source: str = "chat") -> Broadcast:
    """A draft broadcast, validated: ValueError(one of REASONS) when it cannot go. ``author``
    None is the command line (an operator); a person must coordinate ``nb``."""
    if author is not None and not (author.is_coordinator and author.neighbourhood_id == nb.id):
        raise ValueError("not_coordinator")
    versions: dict[str, str] = {}
    for language, text in texts.items():
        code = normalise_language(language) or language
        text = (text or "").strip()
        if text:
            versions[code] = text
    base = normalise_language(base_language) or base_language
    if not versions:
        raise ValueError("no_text")
    if base not in versions:
        raise ValueError("base_language")
    if any(len(text) > MAX_LENGTH for text in versions.values()):
        raise ValueError("too_long")
    if audience.kind not in AUDIENCES:
        raise ValueError("audience")
    if any(b not in ANSWER_KINDS for b in buttons) or len(set(buttons)) != len(buttons):
        raise ValueError("button")
    if send_at is not None and send_at.tzinfo is None:
        raise ValueError("send_at")
    bc = Broadcast(neighbourhood_id=nb.id, author_id=author.id if author is not None else None, source=source,
                   audience=audience.kind, audience_language=normalise_language(audience.language),
                   audience_street=(audience.street or "").strip() or None,
                   audience_postcode=(audience.postcode or "").strip() or None,
                   base_language=base, texts=versions, buttons=list(buttons), send_at=send_at, status="draft")
    session.add(bc)
    session.flush()
    return bc


def confirm(session: Session, bc: Broadcast, now: datetime) -> None:
    """Draft -> scheduled (send_at later than now) or sending (the next sweep starts it)."""
    if bc.status != "draft":
        raise ValueError("not_draft")
    bc.confirmed_at = now
    bc.status = "scheduled" if bc.send_at is not None and bc.send_at > now else "sending"
    session.flush()


def cancel(session: Session, bc: Broadcast, now: datetime) -> int:
    """Stop it: a draft or scheduled one never goes; of one that is sending, what has not gone
    yet is withdrawn (rows being sent at this moment still go). Returns how many were withdrawn.

    The broadcast's row is locked and read again first: the sweep may at this moment be moving
    it from scheduled to sending or writing a batch under its lock; we decide on what it wrote."""
    session.scalars(select(Broadcast).where(Broadcast.id == bc.id).with_for_update()
                    .execution_options(populate_existing=True)).all()  # read: that refreshes ``bc``
    if bc.status in ("sent", "cancelled"):
        return 0
    withdrawn = 0
    if bc.status == "sending":
        rows = select(BroadcastRecipient.outbox_id).where(BroadcastRecipient.broadcast_id == bc.id,
                                                          BroadcastRecipient.outbox_id.is_not(None))
        result = session.execute(update(Outbox).where(Outbox.id.in_(rows), Outbox.status.in_(("pending", "held")))
                                 .values(status="cancelled", error="broadcast withdrawn")
                                 .execution_options(synchronize_session=False))
        withdrawn = result.rowcount or 0
        session.execute(update(BroadcastRecipient)
                        .where(BroadcastRecipient.broadcast_id == bc.id, BroadcastRecipient.status == "queued",
                               BroadcastRecipient.outbox_id.in_(
                                   select(Outbox.id).where(Outbox.id.in_(rows), Outbox.status == "cancelled")))
                        .values(status="withdrawn").execution_options(synchronize_session=False))
    bc.status, bc.cancelled_at = "cancelled", now
    session.flush()
    return withdrawn


# ---- who gets it ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Plan:
    """One person of the audience: how they get it, or why not."""

    person: Person
    reach: Reach | None
    reason: str | None
    version: str  # the language of the text they get


def _audience(bc: Broadcast):
    """The candidates of the broadcast's audience, in id order (the author gets the summary
    instead). A superset where SQL cannot say it exactly: ``_matches`` has the last word."""
    query = select(Person).where(Person.neighbourhood_id == bc.neighbourhood_id).order_by(Person.id)
    if bc.author_id is not None:
        query = query.where(Person.id != bc.author_id)
    if bc.audience == "residents":
        query = query.where(Person.is_resident.is_(True))
    elif bc.audience == "volunteers":
        query = query.where(Person.is_volunteer.is_(True), Person.volunteer_status == "approved")
    if bc.audience_language:
        query = query.where(Person.language == bc.audience_language)
    if bc.audience_street:  # compared in Python: SQLite's lower() knows only ASCII ("Église")
        query = query.where(Person.street.is_not(None))
    if bc.audience_postcode:
        query = query.where(or_(Person.postcode == bc.audience_postcode,
                                Person.address_full.contains(bc.audience_postcode, autoescape=True)))
    return query


def _fold(text: str | None) -> str:
    """A street name as people type it: any case, accents composed or not, ’ or ', extra spaces."""
    text = unicodedata.normalize("NFC", (text or "").replace("\u2019", "'"))
    return " ".join(text.casefold().split())


def _matches(bc: Broadcast):
    """person -> bool: the narrowing SQL could not do exactly (street, postcode as a whole word)."""
    street = _fold(bc.audience_street) if bc.audience_street else None
    postcode = bc.audience_postcode
    word = re.compile(rf"(?<!\w){re.escape(postcode)}(?!\w)") if postcode else None

    def match(p: Person) -> bool:
        if street is not None and _fold(p.street) != street:
            return False
        # "1040" in "Kerkstraat 1, 1040 Etterbeek", not in "Rue X 10400"
        return word is None or p.postcode == postcode or bool(word.search(p.address_full or ""))
    return match


def _people(session: Session, bc: Broadcast, after: int, limit: int) -> tuple[list[Person], int, int]:
    """The audience among the next ``limit`` candidates after id ``after``: (the people, how
    many candidates, the last candidate's id). Batches count candidates, not matches: one that
    does not match never ends the walk early; a full batch means there may be more."""
    candidates = list(session.scalars(_audience(bc).where(Person.id > after).limit(limit)))
    match = _matches(bc)
    return [p for p in candidates if match(p)], len(candidates), candidates[-1].id if candidates else after


def version_of(bc: Broadcast, language: str | None) -> str:
    """The language of the text a person speaking ``language`` gets: theirs, else the base."""
    return language if language in (bc.texts or {}) else bc.base_language


def _plan(session: Session, bc: Broadcast, people: list[Person]) -> list[_Plan]:
    """Each person's channel (as a notification would pick it) or reason, in three queries."""
    candidates = [p for p in people if not p.do_not_contact and not p.paused]
    reaches = reachable(session, candidates)
    missing = [p.id for p in candidates if p.id not in reaches]
    identities: dict[int, list[tuple[bool, bool]]] = {}
    if missing:
        rows = session.execute(select(ChannelIdentity.person_id, ChannelIdentity.active, ChannelIdentity.opted_out_at)
                               .where(ChannelIdentity.person_id.in_(missing), ChannelIdentity.channel != "voice"))
        for person_id, active, opted_out_at in rows:
            identities.setdefault(person_id, []).append((bool(active), opted_out_at is not None))
    plans = []
    for p in people:
        reach = reaches.get(p.id)
        if p.do_not_contact:
            reason = "do_not_contact"
        elif p.paused:
            reason = "paused"
        elif reach is not None:
            reason = None
        elif not identities.get(p.id):
            reason = "no_channel"
        elif any(opted_out for _active, opted_out in identities[p.id]):
            reason = "opted_out"
        else:
            reason = "unreachable"
        plans.append(_Plan(p, reach, reason, version_of(bc, p.language)))
    return plans


def render(bc: Broadcast, nb_name: str, version: str) -> tuple[str, list[Option]]:
    """The message in the current language (header, buttons) with the text of ``version``."""
    text = _("A message for {neighbourhood}:", neighbourhood=nb_name) + "\n\n" + bc.texts[version]
    return text, [Option(_(BUTTON_LABELS[kind]), f"bca:{kind}:{bc.id}") for kind in bc.buttons or ()]


def announcement(session: Session, row: Outbox) -> str | None:
    """The bare text of the broadcast an outbox row carries, in the row's version (None: not a
    broadcast's row). A WhatsApp template has the header in its own words around it."""
    outbox_id = row.id
    if (row.idempotency_key or "").startswith("reroute:"):  # a copy sent again on another channel
        original = row.idempotency_key.split(":")[1]
        outbox_id = int(original) if original.isdecimal() else None
    found = session.execute(select(Broadcast.texts, BroadcastRecipient.language)
                            .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
                            .where(BroadcastRecipient.outbox_id == outbox_id)).first()
    return (found[0] or {}).get(found[1]) if found is not None else None


# ---- the preview --------------------------------------------------------------------------------

@dataclass
class Preview:
    recipients: int
    by_channel: dict[str, int]
    by_language: dict[str, int]
    spoken: list[str]
    skipped: dict[str, int]
    seconds: float
    sms_segments: int
    cost_eur: float


def preview(session: Session, bc: Broadcast, now: datetime) -> Preview:
    """Who will get it, how, in which version, who not and why; how long and what the SMS cost.
    The whole audience in BATCH-sized chunks, a few queries each (10,000 people: 20 chunks)."""
    by_channel: Counter = Counter()
    by_language: Counter = Counter()
    spoken: Counter = Counter()
    skipped: Counter = Counter()
    segments_by_language: dict[str, int] = {}
    sms = 0
    nb_name = _neighbourhood_name(session, bc)
    after, scanned = 0, BATCH
    while scanned >= BATCH:
        people, scanned, after = _people(session, bc, after, BATCH)
        for plan in _plan(session, bc, people):
            if plan.reason is not None:
                skipped[plan.reason] += 1
                continue
            by_channel[plan.reach.channel] += 1
            by_language[plan.version] += 1
            spoken[plan.person.language] += 1
            if plan.reach.channel == "sms":
                language = plan.person.language
                if language not in segments_by_language:
                    with speaking(language):
                        text, options = render(bc, nb_name, plan.version)
                    segments_by_language[language] = SMS_SEGMENTS(text, [o.as_json() for o in options], language)
                sms += segments_by_language[language]
    seconds = max((n / RATES[channel] for channel, n in by_channel.items() if RATES.get(channel)), default=0.0)
    return Preview(recipients=sum(by_channel.values()), by_channel=dict(by_channel), by_language=dict(by_language),
                   spoken=[language for language, _n in spoken.most_common()],
                   skipped={reason: skipped[reason] for reason in SKIP_REASONS if skipped[reason]},
                   seconds=seconds, sms_segments=sms, cost_eur=round(sms * SMS_SEGMENT_PRICE, 2))


def _neighbourhood_name(session: Session, bc: Broadcast) -> str:
    return session.scalar(select(Neighbourhood.name).where(Neighbourhood.id == bc.neighbourhood_id)) or ""


CHANNEL_NAMES = {"telegram": "Telegram", "whatsapp": "WhatsApp", "sms": "SMS", "voice": N_("phone call"),
                 "demo": N_("demo")}
SKIP_LABELS = {"paused": N_("paused"), "opted_out": N_("asked us to stop (STOP)"),
               "do_not_contact": N_("asked not to be contacted"), "unreachable": N_("no longer reachable"),
               "no_channel": N_("no way to reach them")}


def _listing(counts: dict[str, int], name) -> str:
    return ", ".join(f"{name(key)} {n}" for key, n in sorted(counts.items(), key=lambda kv: -kv[1]))


def _left_out(skipped: dict[str, int]) -> str:
    why = _listing(skipped, lambda reason: _(SKIP_LABELS.get(reason, reason)))
    return ngettext("Not sent to {n} person: {why}", "Not sent to {n} people: {why}", sum(skipped.values()), why=why)


def describe(p: Preview) -> str:
    """The preview as text in the current language (the chat and the command line show it)."""
    from handlers.free_text import language_name  # here: it loads the language understanding, slow to import

    lines = [ngettext("This message will go to {n} person.", "This message will go to {n} people.",
                      p.recipients)]
    if p.by_channel:
        lines.append(_("By: {channels}", channels=_listing(p.by_channel, lambda c: _(CHANNEL_NAMES.get(c, c)))))
    if p.by_language:
        lines.append(_("In: {languages}", languages=_listing(p.by_language, language_name)))
    if p.skipped:
        lines.append(_left_out(p.skipped))
    if p.recipients:
        minutes = max(1, math.ceil(p.seconds / 60))
        lines.append(ngettext("Sending takes about {n} minute.", "Sending takes about {n} minutes.", minutes))
    if p.sms_segments:
        lines.append(ngettext("SMS: {n} message, about EUR {cost}.", "SMS: {n} messages, about EUR {cost}.",
                              p.sms_segments, cost=f"{p.cost_eur:.2f}"))
    return "\n".join(lines)


def approximate_sms_segments(text: str, options: list[dict], language: str) -> int:
    """SMS segments of a text with its numbered options: GSM-7 160 (153 a part), else UCS-2
    70 (67). The Twilio sender's own count (bot/channels/twilio/render.py) is set in its place
    at start-up (``SMS_SEGMENTS``): handlers do not import the channels."""
    text = text + "".join(f"\n{i}. {o['label']}" for i, o in enumerate(options, 1))
    gsm = all(ch in _GSM7 for ch in text)
    units = len(text) + sum(ch in _GSM7_EXTENDED for ch in text) if gsm else len(text.encode("utf-16-le")) // 2
    single, part = (160, 153) if gsm else (70, 67)
    return 1 if units <= single else math.ceil(units / part)


_GSM7_EXTENDED = set("^{}\\[~]|€\f")
_GSM7 = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
            "¿abcdefghijklmnopqrstuvwxyzäöñüà") | _GSM7_EXTENDED
#: (text, options, language) -> SMS segments; bot/runtime sets the Twilio renderer's exact count.
SMS_SEGMENTS = approximate_sms_segments


# ---- sending: the sweep ---------------------------------------------------------------------------

@sweep("broadcasts")
def send_broadcasts(session: Session, now: datetime) -> int:
    """Start what is due, materialise one batch of one broadcast, and (when no batch was due)
    tell authors how theirs are going. Returns the people looked at: BATCH means "call again"."""
    session.execute(update(Broadcast).where(Broadcast.status == "scheduled", Broadcast.send_at <= now)
                    .values(status="sending").execution_options(synchronize_session=False))
    # populate_existing: the status is the one read under the lock (a cancel may have just committed)
    taken = claim(session, select(Broadcast).where(Broadcast.status == "sending", Broadcast.materialised_at.is_(None))
                  .order_by(Broadcast.id).execution_options(populate_existing=True), Broadcast, now, limit=1)
    if taken and taken[0].status == "sending":
        bc = taken[0]
        written = materialise(session, bc, now)
        _release(session, bc)  # this transaction's batch is all it did: the next call goes on
        if written:
            return written
    for bc in claim(session, select(Broadcast).where(Broadcast.status == "sending",
                                                     Broadcast.materialised_at.is_not(None),
                                                     Broadcast.summary_at.is_(None))
                    .order_by(Broadcast.id).execution_options(populate_existing=True), Broadcast, now, limit=20):
        if bc.status == "sending":
            report(session, bc, now)
        _release(session, bc)
    return 0


def _release(session: Session, bc: Broadcast) -> None:
    session.execute(update(Broadcast).where(Broadcast.id == bc.id).values(lease_until=None, leased_by=None)
                    .execution_options(synchronize_session=False))


def materialise(session: Session, bc: Broadcast, now: datetime, limit: int | None = None) -> int:
    """The audience among the next ``limit`` candidates after the cursor: a recipient row each,
    and an outbox row for each one reached -- the caller's one transaction. Returns how many
    candidates it looked at (``limit``: call again)."""
    limit = limit or BATCH
    people, scanned, last = _people(session, bc, bc.cursor, limit)
    bc.cursor = last
    if scanned < limit:
        bc.materialised_at = now
    if not people:
        return scanned
    plans = _plan(session, bc, people)
    reached = [plan for plan in plans if plan.reason is None]
    nb_name = _neighbourhood_name(session, bc)
    notifier = Notifier(session, f"broadcast:{bc.id}", now=now)
    # Through a Notifier: the answer buttons join the options on each screen (typed digits on
    # WhatsApp/SMS). One call per language, rendered once each; rows come out in that order.
    reached = sorted(reached, key=lambda plan: (plan.person.language or "", plan.person.id))
    for _language, group in groupby(reached, key=lambda plan: plan.person.language or ""):
        group = list(group)
        told = notifier.tell_all([plan.person for plan in group],
                                 lambda version=group[0].version: render(bc, nb_name, version), purpose=PURPOSE)
        if told != len(group):  # cannot happen in one transaction; never a row on the wrong person
            raise RuntimeError("broadcast recipients changed while materialising")
    quiet = _quiet_hours(session, [plan.person.id for plan in reached])
    for plan, row in zip(reached, notifier.outgoing):
        # the Notifier gave the row its bulk priority (models.outbox.priority_of); the default quiet
        # hours are read now: QUIET_HOURS may have changed them
        after_quiet = quiet_until(now, *quiet.get(plan.person.id, quiet_rules.DEFAULT_QUIET))
        row.update(idempotency_key=key(bc.id, plan.person.id), next_attempt_at=after_quiet or row["next_attempt_at"])
    keys = [row["idempotency_key"] for row in notifier.outgoing]
    notifier.write()
    outbox_ids = dict(session.execute(select(Outbox.idempotency_key, Outbox.id)
                                      .where(Outbox.idempotency_key.in_(keys))).all())
    session.connection().execute(_RECIPIENTS, [dict(
        broadcast_id=bc.id, person_id=plan.person.id, created_at=now,
        channel=plan.reach.channel if plan.reach is not None else None,
        language=plan.version if plan.reason is None else plan.person.language,
        outbox_id=outbox_ids.get(key(bc.id, plan.person.id)) if plan.reason is None else None,
        status="queued" if plan.reason is None else "skipped", reason=plan.reason) for plan in plans])
    return scanned


#: Core, not the unit of work: 500 rows a batch, nothing to track afterwards.
_RECIPIENTS = insert(BroadcastRecipient.__table__)


def key(broadcast_id: int, person_id: int) -> str:
    """The outbox idempotency key of one recipient's row."""
    return f"broadcast:{broadcast_id}:{person_id}"


def _quiet_hours(session: Session, person_ids: list[int]) -> dict[int, tuple[str, str]]:
    """{person id: (start, end)} of those whose check-in plan sets quiet hours (else DEFAULT_QUIET)."""
    found: dict[int, tuple[str, str]] = {}
    if person_ids:
        rows = session.execute(select(CheckinPlan.person_id, CheckinPlan.quiet_start, CheckinPlan.quiet_end)
                               .where(CheckinPlan.person_id.in_(person_ids)).order_by(CheckinPlan.id))
        for person_id, start, end in rows:
            found.setdefault(person_id, (start, end))
    return found


# ---- how it went ----------------------------------------------------------------------------------

@dataclass
class Counts:
    recipients: int  # people it was meant to reach (skipped ones not counted)
    queued: int  # still on their way
    sent: int  # gone out and not reported failed
    delivered: int  # of those: delivered (a receipt, or a chat without receipts: Telegram)
    failed: int
    skipped: dict[str, int]
    answers: dict[str, int]
    withdrawn: int = 0  # not sent: the broadcast was cancelled
    waiting: int = 0  # held until the person writes (WhatsApp's 24 hours without a template)


_DELIVERED = ("delivered", "read")
_FAILED = ("failed", "undelivered")


def counts(session: Session, bc: Broadcast) -> Counts:
    """Where every recipient's row is, in two queries (three when a row was sent again by SMS)."""
    rows = session.execute(
        select(BroadcastRecipient.status, BroadcastRecipient.reason, BroadcastRecipient.answer, Outbox.id,
               Outbox.status, Outbox.delivery_status, Outbox.channel)
        .outerjoin(Outbox, Outbox.id == BroadcastRecipient.outbox_id)
        .where(BroadcastRecipient.broadcast_id == bc.id)).all()
    rerouted = [row[3] for row in rows if row[4] == "rerouted"]
    copies = {}
    if rerouted:
        wanted = {f"reroute:{i}:{channel}": i for i in rerouted for channel in ("sms", "whatsapp", "telegram")}
        for key_, status, delivery, channel in session.execute(
                select(Outbox.idempotency_key, Outbox.status, Outbox.delivery_status, Outbox.channel)
                .where(Outbox.idempotency_key.in_(list(wanted)))):
            copies[wanted[key_]] = (status, delivery, channel)
    c = Counts(recipients=0, queued=0, sent=0, delivered=0, failed=0, skipped={}, answers={})
    for status, reason, answer, outbox_id, out_status, delivery, channel in rows:
        if answer:
            c.answers[answer] = c.answers.get(answer, 0) + 1
        if status == "skipped":
            c.skipped[reason] = c.skipped.get(reason, 0) + 1
            continue
        c.recipients += 1
        if status == "withdrawn":
            c.withdrawn += 1
            continue
        if out_status == "rerouted" and outbox_id in copies:
            out_status, delivery, channel = copies[outbox_id]
        if out_status in ON_ITS_WAY or out_status == "rerouted":
            c.queued += 1
        elif out_status == "held":
            c.waiting += 1
        elif out_status in ("sent", "purged") and delivery not in _FAILED:
            c.sent += 1
            c.delivered += delivery in _DELIVERED or channel in NO_RECEIPTS
        else:  # failed, cancelled (erased, a STOP, a blocked bot), undelivered, or the row is gone
            c.failed += 1
    return c


ANSWER_LABELS = {"coming": N_("coming"), "pickup": N_("asked to be picked up")}


def describe_counts(c: Counts) -> str:
    """The counts as text in the current language (the chat's list, the summary, the CLI's status)."""
    lines = [_("Sent: {sent} of {recipients} (delivered: {delivered})", sent=c.sent, recipients=c.recipients,
               delivered=c.delivered)]
    if c.queued:
        lines.append(_("Still to go: {n}", n=c.queued))
    if c.waiting:
        lines.append(_("Waiting until they write to us (WhatsApp): {n}", n=c.waiting))
    if c.failed:
        lines.append(_("Could not be delivered: {n}", n=c.failed))
    if c.withdrawn:
        lines.append(_("Withdrawn (cancelled): {n}", n=c.withdrawn))
    if c.skipped:
        lines.append(_left_out(c.skipped))
    if c.answers:
        lines.append(_("Answers: {answers}", answers=_listing(c.answers, lambda a: _(ANSWER_LABELS.get(a, a)))))
    return "\n".join(lines)


def report(session: Session, bc: Broadcast, now: datetime) -> None:
    """Tell the author how far it got: a few progress messages on a big broadcast, then ONE
    summary once nothing is on its way any more (then the broadcast is "sent")."""
    c = counts(session, bc)
    if c.queued == 0:
        bc.status, bc.summary_at = "sent", now
        _tell_author(session, bc, now, "summary", lambda: (
            _('Your message "{start}" has gone out.', start=opening(bc)) + "\n" + describe_counts(c), []))
        return
    if c.recipients < PROGRESS_FROM:
        return
    gone = c.recipients - c.queued
    step = max((i + 1 for i, share in enumerate(PROGRESS_STEPS) if gone >= share * c.recipients), default=0)
    told = max((i + 1 for i, share in enumerate(PROGRESS_STEPS) if bc.progress_sent >= share * c.recipients),
               default=0)
    if step > told:
        bc.progress_sent = gone
        percent = round(100 * PROGRESS_STEPS[step - 1])
        _tell_author(session, bc, now, f"progress{step}", lambda: (
            _('Your message "{start}" is on its way: {percent}% sent so far.', start=opening(bc),
              percent=percent) + "\n" + describe_counts(c), []))


def opening(bc: Broadcast, length: int = 40) -> str:
    """The first words of the broadcast's text: which one this is about."""
    text = " ".join(bc.texts[bc.base_language].split())
    return text if len(text) <= length else text[:length].rsplit(" ", 1)[0] + "…"


def _tell_author(session: Session, bc: Broadcast, now: datetime, what: str, message) -> None:
    if bc.author_id is None:  # from the command line: `buurtbot broadcast status` shows it
        return
    author = session.get(Person, bc.author_id)
    if author is None:
        return
    notifier = Notifier(session, f"broadcast:{bc.id}:{what}", now=now)
    notifier.tell(author, message, purpose="notify")
    notifier.write()
