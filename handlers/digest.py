"""The weekly digest to coordinators and the figures behind `buurtbot report`: aggregates only,
groups smaller than five shown as "< 5".

A neighbourhood is a few streets: "2 concerns in the Kerkstraat" can name a person. So every
figure is a count over a group (or a share or median of one); a count of fewer than five, or of
fewer than five different people (eight check-ins may all be Maria's), is shown as "< 5", and a
share or median from fewer than five people is not shown at all. A masked count must not be
computable from the others either: "all 10, shopping 8, lift < 5" gives lift away, so when a
list that adds up to a shown total has exactly one small group (or several that can only be all
1 or all 4), they and the next smallest are shown as "hidden" (``protect``); a share is shown
only when neither the part nor the rest is masked. The masking happens in ONE place (``rows``),
which the chat text and the CSV both read; ``Figures`` itself never holds anything about one
person (no ids, no durations, no names).

Periods are whole days in Brussels: ``--from 2026-12-01 --to 2026-12-07`` is 1 December 00:00
to 8 December 00:00 local time, so a request at 23:30 on the 7th counts."""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import and_, distinct, func, or_, select
from sqlalchemy.orm import Session

from handlers.core import Notifier
from handlers.i18n import _, format_day
from handlers.labels import CATEGORY_LABELS, SPOKEN
from handlers.quiet import quiet_hours, quiet_until
from handlers.sweeps import BATCH, sweep
from models import ChannelIdentity, HelpRequest, Neighbourhood, Outbox, Person
from models.base import TZ
from models.broadcasts import Broadcast, BroadcastRecipient
from models.cases import Case
from models.network import coordinators_of
from models.plan_times import local_instant, parse_hm
from models.schedules import CheckinOccurrence, CheckinPlan, Timer

#: The smallest group whose size is shown; a share or a median needs at least this many too.
MIN_GROUP = 5
#: How a small group is shown, and how a group is shown that would let one be worked out.
MASKED = "< 5"
HIDDEN = "hidden"
#: When coordinators get the digest: weekday (0 = Monday) and time in Brussels. scheduler/runner.py
#: configure() sets them from DIGEST_WEEKDAY / DIGEST_TIME.
DIGEST_WEEKDAY = 0
DIGEST_TIME = "09:00"
PURPOSE = "digest"

#: A request nobody met: it expired, was cancelled, or is still open without a volunteer.
UNMET = ("expired", "cancelled")
#: What each case kind's two counts are called (raised in the period, closed in the period).
CASE_METRICS = {"concern": ("concerns_raised", "concerns_closed"),
                "referral": ("referrals_made", "referrals_closed"),
                "problem": ("problems_reported", "problems_closed")}
CHECKIN_METRICS = ("sent", "answered", "missed", "escalated", "missed_by_system")
#: "unsent" (recipients minus sent) is never shown: it only keeps "sent" from giving "failed" away.
BROADCAST_METRICS = ("broadcasts", "recipients", "sent", "delivered", "failed", "skipped", "unsent")


class Count(NamedTuple):
    """How many things (requests, check-ins, cases, messages) and how many different people are
    behind them: eight check-ins may all be one person's, and that is her figure, not a group's."""

    n: int
    people: int


NONE = Count(0, 0)


@dataclass(frozen=True)
class Figures:
    """A neighbourhood's period in counts; ``median_claim`` is None unless at least MIN_GROUP
    requesters and MIN_GROUP volunteers are behind the claims."""

    start: date
    end: date
    requests_all: Count
    requests: dict[str, Count]  # category -> requests made
    claimed: Count  # of those, claimed by a volunteer (people: the fewer of requesters and volunteers)
    unclaimed: Count  # the rest: never shown, but requests_all - claimed would show it
    median_claim: timedelta | None
    unmet_all: Count
    unmet: dict[str, Count]  # category -> expired, cancelled or still unclaimed
    cases: dict[str, Count]  # CASE_METRICS names -> n
    checkins: dict[str, Count]  # CHECKIN_METRICS -> n
    broadcasts: dict[str, Count]  # BROADCAST_METRICS -> n
    languages: dict[str, Count]  # language -> people who wrote in it

    @property
    def empty(self) -> bool:
        """Nothing happened at all (a quiet week: no digest, see send_digests)."""
        return not any(c.n for table in (self.requests, self.cases, self.checkins, self.broadcasts, self.languages)
                       for c in table.values())

    @property
    def share_claimed(self) -> float | None:
        """Claimed / made, only when the requests come from at least MIN_GROUP people and neither
        the claimed nor the unclaimed ones are masked (20 % of 10 would give "< 5" away as 2)."""
        total = self.requests_all
        if total.people < MIN_GROUP or MASKED in (count(self.claimed), count(self.unclaimed)):
            return None
        return self.claimed.n / total.n


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Brussels, as UTC instants."""
    midnight = parse_hm("00:00")
    return local_instant(start, midnight), local_instant(end + timedelta(days=1), midnight)


def _tally(column):
    """count(*) and the number of different ``column`` values (a row without one, e.g. an
    erased requester, counts as a person of its own: it can only make the group look bigger
    by the rows that really are there)."""
    return func.count(), func.count(distinct(column))


def _by(session: Session, query) -> dict[str, Count]:
    return {key: Count(n, people) for key, n, people in session.execute(query)}


def figures(session: Session, neighbourhood_id: int, start: date, end: date) -> Figures:
    """Everything the digest and `buurtbot report` show for ``start``..``end`` (whole days, inclusive)."""
    since, until = period_bounds(start, end)
    made = and_(HelpRequest.neighbourhood_id == neighbourhood_id, HelpRequest.created_at >= since,
                HelpRequest.created_at < until)
    unmet = or_(HelpRequest.status.in_(UNMET), and_(HelpRequest.status == "open", HelpRequest.claimed_at.is_(None)))
    requester = func.coalesce(HelpRequest.requester_id, -HelpRequest.id)
    volunteer = func.coalesce(HelpRequest.claimed_by_id, -HelpRequest.id)
    claims = session.execute(select(HelpRequest.created_at, HelpRequest.claimed_at, requester, volunteer)
                             .where(made, HelpRequest.claimed_at.is_not(None))).all()
    waits = [claimed - created for created, claimed, _r, _v in claims]
    claimed = Count(len(claims), min(len({r for *_x, r, _v in claims}), len({v for *_x, v in claims})))
    return Figures(
        start=start, end=end,
        requests_all=Count(*session.execute(select(*_tally(requester)).where(made)).one()),
        requests=_by(session, select(HelpRequest.category, *_tally(requester)).where(made)
                     .group_by(HelpRequest.category)),
        claimed=claimed,
        unclaimed=Count(*session.execute(select(*_tally(requester)).where(made, HelpRequest.claimed_at.is_(None)))
                        .one()),
        median_claim=statistics.median(waits) if claimed.people >= MIN_GROUP else None,
        unmet_all=Count(*session.execute(select(*_tally(requester)).where(made, unmet)).one()),
        unmet=_by(session, select(HelpRequest.category, *_tally(requester)).where(made, unmet)
                  .group_by(HelpRequest.category)),
        cases=_cases(session, neighbourhood_id, since, until),
        checkins=_checkins(session, neighbourhood_id, since, until),
        broadcasts=_broadcasts(session, neighbourhood_id, since, until),
        languages=_languages(session, neighbourhood_id, since, until))


def _cases(session: Session, nb: int, since: datetime, until: datetime) -> dict[str, Count]:
    """Cases opened and closed in the period; the people are whom they are about (a case about
    nobody in the network, a street light, counts as its own)."""
    about = func.coalesce(Case.person_id, -Case.id)
    counts: dict[str, Count] = {}
    for kind, (raised, closed) in CASE_METRICS.items():
        of_kind = and_(Case.neighbourhood_id == nb, Case.kind == kind)
        counts[raised] = Count(*session.execute(select(*_tally(about)).where(
            of_kind, Case.created_at >= since, Case.created_at < until)).one())
        counts[closed] = Count(*session.execute(select(*_tally(about)).where(
            of_kind, Case.closed_at >= since, Case.closed_at < until)).one())
    return counts


def _filtered(column, *conditions):
    return func.count().filter(*conditions), func.count(distinct(column)).filter(*conditions)


def _pairs(names, row) -> dict[str, Count]:
    values = [n or 0 for n in row]
    return {name: Count(values[2 * i], values[2 * i + 1]) for i, name in enumerate(names)}


def _checkins(session: Session, nb: int, since: datetime, until: datetime) -> dict[str, Count]:
    """Occurrences due in the period (models/schedules.py OCCURRENCE_STATUSES): contacted unless
    "missed_by_system"; answered when the person answered; missed when contacted and they did
    not; escalated when the ladder reached a person ("escalated", then "closed")."""
    answered = or_(CheckinOccurrence.answered_at.is_not(None), CheckinOccurrence.status == "answered")
    contacted = CheckinOccurrence.status != "missed_by_system"
    who = CheckinOccurrence.person_id
    row = session.execute(
        select(*_filtered(who, contacted), *_filtered(who, contacted, answered),
               *_filtered(who, contacted, ~answered),
               *_filtered(who, CheckinOccurrence.status.in_(("escalated", "closed"))), *_filtered(who, ~contacted))
        .join(CheckinPlan, CheckinPlan.id == CheckinOccurrence.plan_id)
        .where(CheckinPlan.neighbourhood_id == nb, CheckinOccurrence.due_at >= since,
               CheckinOccurrence.due_at < until)).one()
    return _pairs(CHECKIN_METRICS, row)


def _broadcasts(session: Session, nb: int, since: datetime, until: datetime) -> dict[str, Count]:
    """Broadcasts that went out in the period (their send time, else when confirmed) and their
    reach, read from their recipients and the outbox rows that carried them. "delivered" is what
    a platform reported (Twilio does; Telegram only says it accepted the message: "sent")."""
    went = func.coalesce(Broadcast.send_at, Broadcast.confirmed_at)
    queued = BroadcastRecipient.status == "queued"
    delivered = Outbox.delivery_status.in_(("delivered", "read"))
    failed = or_(Outbox.status == "failed", Outbox.delivery_status.in_(("failed", "undelivered")))
    who = func.coalesce(BroadcastRecipient.person_id, -BroadcastRecipient.id)
    # The number of broadcasts is the coordinators' work, not anyone's data: masked like any count.
    broadcasts = func.count(distinct(BroadcastRecipient.broadcast_id))
    row = session.execute(
        select(broadcasts, broadcasts,
               *_filtered(who, queued), *_filtered(who, queued, Outbox.status.in_(("sent", "purged"))),
               *_filtered(who, queued, delivered), *_filtered(who, queued, failed),
               *_filtered(who, BroadcastRecipient.status == "skipped"),
               *_filtered(who, queued, or_(Outbox.status.is_(None), Outbox.status.not_in(("sent", "purged")))))
        .select_from(BroadcastRecipient)
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .outerjoin(Outbox, Outbox.id == BroadcastRecipient.outbox_id)
        .where(Broadcast.neighbourhood_id == nb, Broadcast.status != "draft", went >= since, went < until)).one()
    return _pairs(BROADCAST_METRICS, row)


def _languages(session: Session, nb: int, since: datetime, until: datetime) -> dict[str, Count]:
    """People of the neighbourhood who wrote in the period, by the language they were answered
    in: every message a person writes gets a reply (purpose "reply") in that language."""
    rows_ = session.execute(
        select(Outbox.language, func.count(distinct(ChannelIdentity.person_id)))
        .join(ChannelIdentity, ChannelIdentity.id == Outbox.identity_id)
        .join(Person, Person.id == ChannelIdentity.person_id)
        .where(Person.neighbourhood_id == nb, Outbox.purpose == "reply", Outbox.created_at >= since,
               Outbox.created_at < until)
        .group_by(Outbox.language))
    return {language: Count(n, n) for language, n in rows_}


# ---- showing them: the one place where small groups are masked ---------------------------------

def count(c: Count) -> str:
    """A group's size as shown: "< 5" unless at least MIN_GROUP things from at least MIN_GROUP
    different people (nobody can be picked out, nobody's own number is shown); none is "0"."""
    return MASKED if c.n and min(c.n, c.people) < MIN_GROUP else str(c.n)


def protect(total: Count, parts: dict[str, Count]) -> dict[str, str]:
    """The parts of a shown total, each as shown, so that no masked part can be worked out as the
    total minus the others: when exactly one part is masked -- or several that are all 1 or all 4
    ("< 5" and "< 5" adding up to 2) -- they and the next smallest non-empty part are all
    "hidden", the same word for each, so nothing tells which is a small one. (Other masked parts
    hide each other; a masked total hides them all.)"""
    shown = {key: count(c) for key, c in parts.items()}
    small = [key for key, value in shown.items() if value == MASKED]
    together = sum(parts[key].n for key in small)
    if not small or count(total) == MASKED or (len(small) > 1 and together not in (len(small), 4 * len(small))):
        return shown
    others = sorted((c.n, key) for key, c in parts.items() if key not in small and c.n)
    for key in small + [key for _n, key in others[:1]]:
        shown[key] = HIDDEN
    return shown


def rows(f: Figures) -> list[tuple[str, str, str]]:
    """(metric, group, value) with every small group masked: the CSV's rows, the text's source.
    A share or median from fewer than MIN_GROUP is an empty value."""
    out: list[tuple[str, str, str]] = [("requests", "all", count(f.requests_all))]
    out += sorted(("requests", cat, value) for cat, value in protect(f.requests_all, f.requests).items())
    # Claimed and unclaimed add up to all requests: the unclaimed are never shown, but a small
    # number of them must not be readable as all minus claimed.
    claimed = protect(f.requests_all, {"claimed": f.claimed, "unclaimed": f.unclaimed})["claimed"]
    out.append(("requests_claimed", "all", claimed))
    share = f.share_claimed
    out.append(("requests_claimed_percent", "all", "" if share is None else str(round(share * 100))))
    median = f.median_claim
    out.append(("median_minutes_to_claim", "all", "" if median is None else str(round(median.total_seconds() / 60))))
    out.append(("unmet_needs", "all", count(f.unmet_all)))
    out += sorted(("unmet_needs", cat, value) for cat, value in protect(f.unmet_all, f.unmet).items())
    out += [(name, "all", count(n)) for name, n in f.cases.items()]
    # Answered and missed add up to sent.
    checkins = {name: count(n) for name, n in f.checkins.items()}
    checkins.update(protect(f.checkins["sent"], {name: f.checkins[name] for name in ("answered", "missed")}))
    out += [(f"checkins_{name}", "all", checkins[name]) for name in CHECKIN_METRICS]
    # Sent and not (yet) sent add up to the recipients: a few failed ones must not be all minus sent.
    reach = {name: count(n) for name, n in f.broadcasts.items()}
    reach["sent"] = protect(f.broadcasts["recipients"], {"sent": f.broadcasts["sent"],
                                                         "unsent": f.broadcasts["unsent"]})["sent"]
    out += [(f"broadcast_{name}" if name != "broadcasts" else name, "all", reach[name])
            for name in BROADCAST_METRICS if name != "unsent"]
    out += [("people_who_wrote", language, count(n)) for language, n in sorted(f.languages.items())]
    return out


def _duration(d: timedelta) -> str:
    minutes = round(d.total_seconds() / 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return _("{days} d {hours} h", days=days, hours=hours)
    if hours:
        return _("{hours} h {minutes} min", hours=hours, minutes=minutes)
    return _("{minutes} min", minutes=minutes)


def describe(f: Figures) -> str:
    """The figures as a coordinator reads them, in the current language (gettext)."""
    hidden = _("hidden")
    shown = {(metric, group): hidden if value == HIDDEN else value for metric, group, value in rows(f)}
    not_shown = _("not shown (fewer than 5)")
    lines = [_("From {start} to {end}", start=format_day(f.start), end=format_day(f.end)), "",
             _("Requests: {n}", n=shown["requests", "all"])]
    lines += [f"  {_(CATEGORY_LABELS.get(cat, CATEGORY_LABELS['other']))}: {shown['requests', cat]}"
              for cat in sorted(f.requests)]
    percent, median = shown["requests_claimed_percent", "all"], f.median_claim
    lines.append(_("Claimed by a volunteer: {share}", share=_("{percent} %", percent=percent) if percent
                   else not_shown))
    lines.append(_("Median time until a volunteer claimed it: {duration}",
                   duration=_duration(median) if median is not None else not_shown))
    lines.append(_("Not met (expired, cancelled or still waiting): {n}", n=shown["unmet_needs", "all"]))
    lines += [f"  {_(CATEGORY_LABELS.get(cat, CATEGORY_LABELS['other']))}: {shown['unmet_needs', cat]}"
              for cat in sorted(f.unmet)]
    lines += ["",
              _("Worries about a neighbour: {raised} raised, {closed} closed",
                raised=shown["concerns_raised", "all"], closed=shown["concerns_closed", "all"]),
              _("Referrals to a service: {made} made, {closed} closed",
                made=shown["referrals_made", "all"], closed=shown["referrals_closed", "all"]),
              _("Problems in the neighbourhood: {reported} reported, {closed} closed",
                reported=shown["problems_reported", "all"], closed=shown["problems_closed", "all"]),
              _("Weekly hellos: {sent} sent, {answered} answered, {missed} without an answer, {escalated} passed "
                "on to a person", sent=shown["checkins_sent", "all"], answered=shown["checkins_answered", "all"],
                missed=shown["checkins_missed", "all"], escalated=shown["checkins_escalated", "all"])]
    if f.checkins["missed_by_system"].n:
        lines.append(_("Weekly hellos buurtbot could not send (it was down): {n}",
                       n=shown["checkins_missed_by_system", "all"]))
    lines.append(_("Announcements: {n}; {recipients} people: {sent} sent, {delivered} delivered, {failed} failed, "
                   "{skipped} not sent (paused, stopped or unreachable)", n=shown["broadcasts", "all"],
                   recipients=shown["broadcast_recipients", "all"], sent=shown["broadcast_sent", "all"],
                   delivered=shown["broadcast_delivered", "all"], failed=shown["broadcast_failed", "all"],
                   skipped=shown["broadcast_skipped", "all"]))
    languages = ", ".join(f"{SPOKEN.get(lang, lang)} {shown['people_who_wrote', lang]}"
                          for lang in sorted(f.languages, key=lambda lang: (-f.languages[lang].n, lang)))
    lines.append(_("People who wrote, by language: {languages}", languages=languages or "0"))
    lines += ["", _("Groups smaller than 5 are shown as \"< 5\"; there are no figures about single people.")]
    if hidden in shown.values():
        lines.append(_("Where a group smaller than 5 could be worked out from a total, it and the next smallest "
                       "are \"{hidden}\".", hidden=hidden))
    return "\n".join(lines)


# ---- the weekly digest ------------------------------------------------------------------------

def digest_moment(now: datetime) -> datetime:
    """This ISO week's digest time (DIGEST_WEEKDAY at DIGEST_TIME in Brussels), as UTC."""
    local = now.astimezone(TZ).date()
    day = local - timedelta(days=local.weekday()) + timedelta(days=DIGEST_WEEKDAY)
    return local_instant(day, parse_hm(DIGEST_TIME))


def week_label(now: datetime) -> str:
    year, week, _weekday = now.astimezone(TZ).isocalendar()
    return f"{year}-W{week:02d}"


def _mark(session: Session, key: str, due_at: datetime, now: datetime) -> bool:
    """Claim this week's digest of a neighbourhood: a done Timer under a unique key. False when
    another tick (or instance) already did -- the digest goes once per ISO week."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    marked = session.execute(dialect_insert(Timer).values(key=key, kind=PURPOSE, due_at=due_at, status="done",
                                                          done_at=now, created_at=now)
                             .on_conflict_do_nothing(index_elements=["key"]).returning(Timer.id))
    return marked.scalar() is not None  # (rowcount is -1 for an INSERT ... RETURNING on psycopg)


@sweep("digest")
def send_digests(session: Session, now: datetime) -> int:
    """From DIGEST_WEEKDAY DIGEST_TIME on, once per ISO week: each neighbourhood's previous 7 days
    to each of its own coordinators, in their language, after their quiet hours. A week in which
    nothing at all happened sends nothing (no message about nothing). Returns how many
    neighbourhoods were done."""
    moment = digest_moment(now)
    if now < moment:
        return 0
    label = week_label(now)
    end = moment.astimezone(TZ).date() - timedelta(days=1)
    start = end - timedelta(days=6)
    # Every tick of the week after the digest time looks: one read finds the neighbourhoods done.
    done_keys = set(session.scalars(select(Timer.key).where(Timer.kind == PURPOSE,
                                                            Timer.key.like(f"{PURPOSE}:%:{label}"))))
    done = 0
    for nb in session.scalars(select(Neighbourhood).order_by(Neighbourhood.id)):
        key = f"{PURPOSE}:{nb.id}:{label}"
        if done >= BATCH:
            break
        if key in done_keys or not _mark(session, key, moment, now):
            continue
        done += 1
        coordinators = coordinators_of(session, nb.id)
        if not coordinators:
            continue
        f = figures(session, nb.id, start, end)
        if f.empty:
            continue
        for person in coordinators:
            _send(session, nb, person, f, label, now)
    return done


def _send(session: Session, nb: Neighbourhood, person: Person, f: Figures, label: str, now: datetime) -> None:
    notifier = Notifier(session, f"{PURPOSE}:{nb.id}:{person.id}:{label}", now=now)

    def render():
        return _("Your weekly overview for {neighbourhood}", neighbourhood=nb.name) + "\n" + describe(f), []

    if not notifier.tell(person, render, purpose=PURPOSE):
        return
    after = quiet_until(now, *quiet_hours(session, person))
    for row in notifier.outgoing:  # bulk priority: the Notifier's (models.outbox.priority_of)
        if after is not None:
            row["next_attempt_at"] = max(row["next_attempt_at"], after)
    notifier.write()
