"""The figures behind the weekly digest and `buurtbot report` (handlers/digest.py): groups of
fewer than five masked as "< 5", shares and medians from fewer than five not shown, periods in
whole Brussels days; and the digest itself: once per ISO week, to each neighbourhood's own
coordinators only, in their language, after their quiet hours."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from handlers import digest
from handlers.digest import Count, count, describe, figures, rows, send_digests
from handlers.i18n import speaking
from models import ChannelIdentity, HelpRequest, Neighbourhood, Outbox, Person
from models.base import TZ
from models.broadcasts import Broadcast, BroadcastRecipient
from models.cases import open_case
from models.db import make_engine, make_sessionmaker
from models.network import add_neighbourhood
from models.schedules import CheckinOccurrence, CheckinPlan
from tests.test_concurrency import run_together

DAY = date(2026, 11, 18)  # a Wednesday in winter time (UTC+1)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ).astimezone(timezone.utc)


def person(s, nb, name: str, language: str = "nl", **flags) -> Person:
    p = Person(neighbourhood_id=nb.id, first_name=name, language=language, **flags)
    s.add(p)
    s.flush()
    s.add(ChannelIdentity(channel="demo", address=name.lower(), person_id=p.id, language=language))
    s.flush()
    return p


def request(s, nb, category: str = "shopping", at: datetime | None = None, claim_after: int | None = None,
            status: str | None = None) -> HelpRequest:
    at = at or local(DAY, 10)
    claimed = at + timedelta(minutes=claim_after) if claim_after is not None else None
    req = HelpRequest(neighbourhood_id=nb.id, category=category, created_at=at, claimed_at=claimed,
                      status=status or ("claimed" if claimed else "open"))
    s.add(req)
    s.flush()
    return req


def shown(f) -> dict[tuple[str, str], str]:
    return {(metric, group): value for metric, group, value in rows(f)}


def ns(table: dict[str, Count]) -> dict[str, int]:
    return {key: c.n for key, c in table.items()}


def test_counts_of_one_to_four_are_masked_and_five_is_shown():
    assert [count(Count(n, n)) for n in (0, 1, 4, 5, 6)] == ["0", "< 5", "< 5", "5", "6"]
    # Eight things of one person, or five of four people, are still that person's figure.
    assert [count(Count(8, 1)), count(Count(5, 4)), count(Count(9, 5))] == ["< 5", "< 5", "9"]


def test_many_requests_of_one_person_are_her_figure_and_masked(sessions):
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        maria, jan = person(s, nb, "Maria"), person(s, nb, "Jan", is_volunteer=True)
        for minutes in (10, 20, 30, 40, 50, 60):
            req = request(s, nb, "shopping", claim_after=minutes)
            req.requester_id, req.claimed_by_id = maria.id, jan.id
        f = figures(s, nb.id, DAY, DAY)
    assert f.requests_all == Count(6, 1) and f.claimed == Count(6, 1)
    assert shown(f)["requests", "all"] == "< 5" and shown(f)["requests", "shopping"] == "< 5"
    # Maria's share and Jan's speed are nobody's business: not shown.
    assert f.share_claimed is None and f.median_claim is None
    assert shown(f)["requests_claimed_percent", "all"] == "" and shown(f)["median_minutes_to_claim", "all"] == ""


def test_masking_at_four_and_five_requests(sessions):
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        for minutes in (10, 20, 30, 40):
            request(s, nb, "shopping", claim_after=minutes)
        four = figures(s, nb.id, DAY, DAY)
        request(s, nb, "lift", claim_after=50)
        five = figures(s, nb.id, DAY, DAY)
    assert shown(four)["requests", "all"] == "< 5" and shown(four)["requests", "shopping"] == "< 5"
    # A share or a median of four requests is not shown at all, neither in the CSV nor in the text.
    assert four.share_claimed is None and four.median_claim is None
    assert shown(four)["requests_claimed_percent", "all"] == "" and shown(four)["median_minutes_to_claim", "all"] == ""
    with speaking("en"):
        text = describe(four)
    assert "Requests: < 5" in text and "Claimed by a volunteer: not shown (fewer than 5)" in text
    assert "Median time until a volunteer claimed it: not shown (fewer than 5)" in text
    # Five: the total, the share and the median appear; each category (4 and 1) stays masked.
    f = shown(five)
    assert f["requests", "all"] == "5" and f["requests_claimed", "all"] == "5"
    assert f["requests", "shopping"] == "< 5" and f["requests", "lift"] == "< 5"
    assert f["requests_claimed_percent", "all"] == "100" and f["median_minutes_to_claim", "all"] == "30"
    with speaking("en"):
        text = describe(five)
    assert "Requests: 5" in text and "Claimed by a volunteer: 100 %" in text
    assert "Median time until a volunteer claimed it: 30 min" in text


def test_median_time_to_claim_and_the_share_claimed(sessions):
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        for minutes in (10, 20, 30, 40, 50, 24 * 60 + 600):  # with the "done" one below: 5 .. 34 h, seven claims
            request(s, nb, "shopping", claim_after=minutes)
        for status in ("expired", "cancelled", "open", "done", "open", "expired"):  # "done" was claimed
            request(s, nb, "repair", status=status, claim_after=5 if status == "done" else None)
        f = figures(s, nb.id, DAY, DAY)
    assert f.median_claim == timedelta(minutes=30)  # 5, 10, 20, [30], 40, 50, 34 h: one far-off wait moves nothing
    assert f.claimed.n == 7 and f.requests_all.n == 12 and f.unclaimed.n == 5 and f.share_claimed == 7 / 12
    assert shown(f)["requests_claimed_percent", "all"] == "58" and shown(f)["requests_claimed", "all"] == "7"
    assert ns(f.unmet) == {"repair": 5} and shown(f)["unmet_needs", "repair"] == "5"
    with speaking("nl"):
        text = describe(f)
    assert "Mediaan" in text or "mediaan" in text
    assert "58 %" in text or "58%" in text


def test_a_share_is_shown_only_when_neither_the_claimed_nor_the_unclaimed_are_masked(sessions):
    """2 claimed of 10 is "< 5" claimed -- and "20 %" of 10 would say 2; 7 of 10 would say that 3
    are unclaimed. Both hide the claimed count and the share; 5 of 10 shows them."""
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        reqs = [request(s, nb, "shopping") for _ in range(10)]
        for req in reqs[:2]:
            req.claimed_at, req.status = req.created_at + timedelta(minutes=10), "claimed"
        two = figures(s, nb.id, DAY, DAY)
        for req in reqs[2:7]:
            req.claimed_at, req.status = req.created_at + timedelta(minutes=10), "claimed"
        seven = figures(s, nb.id, DAY, DAY)
        for req in reqs[7:]:
            req.claimed_at, req.status = None, "expired"
        for req in reqs[:2]:
            req.claimed_at, req.status = None, "expired"
        five = figures(s, nb.id, DAY, DAY)
    assert (two.claimed.n, seven.claimed.n, five.claimed.n) == (2, 7, 5)
    for f in (two, seven):
        table = shown(f)
        assert table["requests", "all"] == "10" and f.share_claimed is None
        assert table["requests_claimed", "all"] == "hidden" and table["requests_claimed_percent", "all"] == ""
        with speaking("en"):
            text = describe(f)
        assert "Claimed by a volunteer: not shown (fewer than 5)" in text and "%" not in text
    assert shown(five)["requests_claimed", "all"] == "5" and shown(five)["requests_claimed_percent", "all"] == "50"


def parts_of(table: dict[tuple[str, str], str], metric: str) -> dict[str, str]:
    return {group: value for (m, group), value in table.items() if m == metric and group != "all"}


def assert_nothing_masked_can_be_worked_out(total: str, parts: dict[str, str]) -> None:
    """The total minus the shown parts is the one not shown: there must never be just one, nor
    several "< 5" that can only be all 1 or all 4."""
    assert total.isdigit(), total
    not_numbers = [value for value in parts.values() if not value.isdigit()]
    assert len(not_numbers) != 1, (total, parts)
    rest = int(total) - sum(int(value) for value in parts.values() if value.isdigit())
    assert set(not_numbers) != {"< 5"} or rest not in (len(not_numbers), 4 * len(not_numbers)), (total, parts)


def test_one_small_group_in_a_list_hides_the_next_smallest_too(sessions):
    """"all 10, shopping 8, lift < 5" says lift is 2: lift and shopping are both "hidden" (the same
    word, so the reader cannot tell which is the small one); the total stays. The same for the
    needs not met and for the weekly hellos (answered + without an answer = sent)."""
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        for category, n in (("shopping", 8), ("lift", 2)):
            for _ in range(n):
                request(s, nb, category, status="expired")
        two = figures(s, nb.id, DAY, DAY)
        for category, n in (("shopping", 1), ("repair", 6)):  # shopping 9, repair 6, lift 2: repair is next
            for _ in range(n):
                request(s, nb, category, status="expired")
        three = figures(s, nb.id, DAY, DAY)
        request(s, nb, "company", status="expired")  # two small groups (2 and 1) already hide each other
        four = figures(s, nb.id, DAY, DAY)
        # ... but "< 5" and "< 5" in a total that leaves 2 are 1 and 1 (or, leaving 8, 4 and 4): all hidden.
        ones = add_neighbourhood(s, "Elsene", "elsene", ["1050"])
        for category, n in (("shopping", 10), ("lift", 1), ("company", 1)):
            for _ in range(n):
                request(s, ones, category, status="expired")
        evens = figures(s, ones.id, DAY, DAY)
        people = [person(s, nb, f"P{i}") for i in range(10)]
        for i, p in enumerate(people):  # ten people's hellos: eight answered, two not
            plan = CheckinPlan(person_id=p.id, neighbourhood_id=nb.id, channel="demo", days=[0])
            s.add(plan)
            s.flush()
            s.add(CheckinOccurrence(key=f"checkin:{plan.id}:0", plan_id=plan.id, person_id=p.id,
                                    due_at=local(DAY, 10), status="answered" if i < 8 else "waiting",
                                    answered_at=local(DAY, 11) if i < 8 else None))
        s.flush()
        hellos = figures(s, nb.id, DAY, DAY)
    table = shown(two)
    assert table["requests", "all"] == "10" and parts_of(table, "requests") == {"shopping": "hidden", "lift": "hidden"}
    assert table["unmet_needs", "all"] == "10" and parts_of(table, "unmet_needs") == parts_of(table, "requests")
    table = shown(three)
    assert parts_of(table, "requests") == {"shopping": "9", "repair": "hidden", "lift": "hidden"}
    table = shown(four)
    assert parts_of(table, "requests") == {"shopping": "9", "repair": "6", "lift": "< 5", "company": "< 5"}
    table = shown(evens)
    assert table["requests", "all"] == "12" and set(parts_of(table, "requests").values()) == {"hidden"}
    table = shown(hellos)
    assert (table["checkins_sent", "all"], table["checkins_answered", "all"], table["checkins_missed", "all"]) == \
        ("10", "hidden", "hidden")
    for f in (two, three, four, evens, hellos):
        table = shown(f)
        for metric in ("requests", "unmet_needs"):
            assert_nothing_masked_can_be_worked_out(table[metric, "all"], parts_of(table, metric))
    assert_nothing_masked_can_be_worked_out(table["checkins_sent", "all"], {
        "answered": table["checkins_answered", "all"], "missed": table["checkins_missed", "all"]})
    with speaking("nl"):
        text = describe(two)
    assert "Boodschappen" in text and text.count(": verborgen") == 4  # requests and unmet, two each
    assert '"verborgen"' in text  # the line that says why
    with speaking("en"):
        assert "hidden" not in describe(four)  # nothing hidden: no explanation either


def test_median_of_an_even_number_is_between_the_middle_two(sessions):
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        for minutes in (10, 20, 30, 40, 50, 600):
            request(s, nb, "shopping", claim_after=minutes)
        f = figures(s, nb.id, DAY, DAY)
    assert f.median_claim == timedelta(minutes=35) and shown(f)["median_minutes_to_claim", "all"] == "35"


def test_a_period_is_whole_days_in_brussels(sessions):
    """--from 16 --to 18 November: 16 Nov 00:00 to 19 Nov 00:00 local (UTC+1): a request at
    23:30 local on the 18th (22:30 UTC) counts, one at 00:00 local on the 19th (23:00 UTC on
    the 18th) does not; likewise at the start. In summer (UTC+2) the same."""
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        start, end = date(2026, 11, 16), date(2026, 11, 18)
        inside = [local(start, 0, 0), local(end, 23, 30), local(end, 23, 59)] + [local(date(2026, 11, 17), 12)] * 2
        outside = [local(date(2026, 11, 15), 23, 59), local(date(2026, 11, 19), 0, 0)]
        assert local(end, 23, 30).date() == end and local(date(2026, 11, 19), 0, 0).date() == end  # UTC day
        for at in inside + outside:
            request(s, nb, "shopping", at=at)
        assert ns(figures(s, nb.id, start, end).requests) == {"shopping": 5}
        assert ns(figures(s, nb.id, end, end).requests) == {"shopping": 2}
        summer = date(2026, 7, 31)
        request(s, nb, "lift", at=local(summer, 23, 30))  # 21:30 UTC
        request(s, nb, "lift", at=local(date(2026, 8, 1), 0, 30))  # 22:30 UTC on the 31st
        assert ns(figures(s, nb.id, summer, summer).requests) == {"lift": 1}


def test_cases_checkins_broadcasts_and_languages_are_counted(sessions):
    with sessions() as s, s.begin():
        nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
        other = add_neighbourhood(s, "Elsene", "elsene", ["1050"])
        people = [person(s, nb, f"P{i}", "fr" if i < 6 else "nl") for i in range(8)]
        stranger = person(s, other, "Zoe", "fr")
        at = local(DAY, 10)
        for i in range(6):
            case = open_case(s, "concern", nb.id, text="worried")
            case.created_at = at
            if i < 5:
                case.status, case.closed_at = "closed", at + timedelta(hours=1)
        referral = open_case(s, "referral", nb.id)
        referral.created_at = at
        open_case(s, "concern", other.id).created_at = at  # another neighbourhood's: not counted
        plan = CheckinPlan(person_id=people[0].id, neighbourhood_id=nb.id, channel="demo", days=[0])
        s.add(plan)
        s.flush()
        statuses = ["answered"] * 5 + ["escalated", "closed", "missed_by_system", "waiting"]
        for i, status in enumerate(statuses):
            s.add(CheckinOccurrence(key=f"checkin:{plan.id}:{i}", plan_id=plan.id, person_id=people[0].id,
                                    due_at=at + timedelta(minutes=i), status=status,
                                    answered_at=at if status == "answered" else None))
        bc = Broadcast(neighbourhood_id=nb.id, texts={"nl": "x"}, status="sent", confirmed_at=at)
        draft = Broadcast(neighbourhood_id=nb.id, texts={"nl": "y"}, status="draft", confirmed_at=at)
        s.add_all([bc, draft])
        s.flush()
        for i, p in enumerate(people):  # 8 people: 6 queued (5 delivered, 1 failed), 2 skipped
            row = None
            if i < 6:
                row = Outbox(idempotency_key=f"broadcast:{bc.id}:{p.id}", channel="whatsapp", address=f"+32{i}",
                             text="x", purpose="broadcast", status="failed" if i == 5 else "sent",
                             delivery_status=None if i == 5 else "delivered")
                s.add(row)
                s.flush()
            s.add(BroadcastRecipient(broadcast_id=bc.id, person_id=p.id, outbox_id=row and row.id,
                                     status="queued" if row else "skipped", reason=None if row else "paused"))
        s.add(BroadcastRecipient(broadcast_id=draft.id, person_id=people[0].id, status="queued"))
        for p in [*people, stranger]:  # each wrote twice; the replies are in their language
            identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.person_id == p.id))
            for n in range(2):
                s.add(Outbox(idempotency_key=f"demo:{p.id}:{n}", channel="demo", address=identity.address,
                             identity_id=identity.id, language=p.language, purpose="reply", text="hi",
                             created_at=at))
        s.flush()
        f = figures(s, nb.id, DAY, DAY)
    assert ns(f.cases) == {"concerns_raised": 6, "concerns_closed": 5, "referrals_made": 1, "referrals_closed": 0,
                       "problems_reported": 0, "problems_closed": 0}
    assert ns(f.checkins) == {"sent": 8, "answered": 5, "missed": 3, "escalated": 2, "missed_by_system": 1}
    # All of them are one person's weekly hellos: her figure, masked.
    assert f.checkins["answered"] == Count(5, 1) and shown(f)["checkins_answered", "all"] == "< 5"
    # The draft's recipient row is not counted: only broadcasts that went.
    assert ns(f.broadcasts) == {"broadcasts": 1, "recipients": 6, "sent": 5, "delivered": 5, "failed": 1, "skipped": 2,
                                "unsent": 1}
    assert ns(f.languages) == {"fr": 6, "nl": 2} and f.broadcasts["sent"] == Count(5, 5)
    table = shown(f)
    assert table["concerns_raised", "all"] == "6" and table["referrals_made", "all"] == "< 5"
    assert table["people_who_wrote", "nl"] == "< 5" and table["people_who_wrote", "fr"] == "6"
    # 6 recipients, 5 sent: the one not sent (the failed one) would be 6 - 5, so "sent" is hidden too.
    assert (table["broadcast_recipients", "all"], table["broadcast_sent", "all"], table["broadcast_failed", "all"]) \
        == ("6", "hidden", "< 5")
    assert ("broadcast_unsent", "all") not in table
    with speaking("fr"):
        text = describe(f)
    assert "Français 6" in text and "Nederlands < 5" in text


# ---- the weekly digest ------------------------------------------------------------------------

MONDAY = date(2026, 11, 23)  # ISO week 2026-W48; the digest covers Mon 16 .. Sun 22 November


def neighbourhoods(s):
    nb = add_neighbourhood(s, "Etterbeek", "etterbeek", ["1040"])
    other = add_neighbourhood(s, "Elsene", "elsene", ["1050"])
    fatima = person(s, nb, "Fatima", "nl", is_coordinator=True)
    claire = person(s, nb, "Claire", "fr", is_coordinator=True)
    omar = person(s, other, "Omar", "nl", is_coordinator=True)
    request(s, other, "repair", at=local(date(2026, 11, 17), 10))  # Elsene's one request last week
    quiet = add_neighbourhood(s, "Schaarbeek", "schaarbeek", ["1030"])
    person(s, quiet, "Lea", "nl", is_coordinator=True)  # nothing happened there: no digest
    person(s, nb, "Jan", "nl", is_volunteer=True, volunteer_status="approved")
    for i in range(5):
        request(s, nb, "shopping", at=local(date(2026, 11, 16 + i), 10), claim_after=30)
    request(s, nb, "lift", at=local(MONDAY, 8))  # this week's: not in last week's digest
    return nb, other, fatima, claire, omar


def digests(s) -> list[Outbox]:
    return list(s.scalars(select(Outbox).where(Outbox.purpose == "digest").order_by(Outbox.id)))


def test_the_digest_goes_once_per_iso_week_to_each_coordinator_of_their_own_neighbourhood(sessions):
    with sessions() as s, s.begin():
        nb, other, fatima, claire, omar = neighbourhoods(s)
        ids = {p.id: p.first_name for p in (fatima, claire, omar)}
    with sessions() as s, s.begin():  # Monday 08:59: not yet
        assert send_digests(s, local(MONDAY, 8, 59)) == 0 and digests(s) == []
    with sessions() as s, s.begin():
        assert send_digests(s, local(MONDAY, 9)) == 3  # three neighbourhoods done, one of them quiet
    with sessions() as s, s.begin():  # the next tick, and a tick on Thursday of the same week: nothing more
        assert send_digests(s, local(MONDAY, 9, 1)) == 0
        assert send_digests(s, local(MONDAY + timedelta(days=3), 15)) == 0
    with sessions() as s:
        rows_ = digests(s)
        by_name = {ids[s.get(ChannelIdentity, r.identity_id).person_id]: r for r in rows_}
        assert len(rows_) == 3 and sorted(by_name) == ["Claire", "Fatima", "Omar"]
        assert all(r.priority == 2 for r in rows_)
        assert by_name["Fatima"].idempotency_key.startswith(f"digest:{nb.id}:{fatima.id}:2026-W48")
        fatima_text, claire_text, omar_text = (by_name[n].text for n in ("Fatima", "Claire", "Omar"))
    # Each in their own language; Etterbeek's five requests last week (this Monday's lift not).
    assert "Etterbeek" in fatima_text and "Aanvragen: 5" in fatima_text
    assert "Etterbeek" in claire_text and "Demandes : 5" in claire_text
    # The coordinator of Elsene gets Elsene's digest only: nothing of Etterbeek's. Schaarbeek's
    # coordinator gets nothing: a week without anything is no message.
    assert "Elsene" in omar_text and "Etterbeek" not in omar_text and "Aanvragen: < 5" in omar_text
    # A week later: the next one.
    with sessions() as s, s.begin():
        request(s, s.get(Neighbourhood, nb.id), "pets", at=local(MONDAY + timedelta(days=2), 10))
        assert send_digests(s, local(MONDAY + timedelta(days=7), 9, 30)) == 3
        assert send_digests(s, local(MONDAY + timedelta(days=7), 9, 31)) == 0
        # Etterbeek's two coordinators again (this week: the lift and the pets); Elsene was quiet.
        assert [r.idempotency_key.split(":")[3] for r in digests(s)] == ["2026-W48"] * 3 + ["2026-W49"] * 2


def test_a_late_first_tick_inside_quiet_hours_waits_for_the_morning(sessions):
    with sessions() as s, s.begin():
        neighbourhoods(s)
        assert send_digests(s, local(MONDAY, 22, 30)) == 3  # the scheduler was down all day
        morning = local(MONDAY + timedelta(days=1), 8)  # the end of the default quiet hours
        assert len(digests(s)) == 3 and {r.next_attempt_at for r in digests(s)} == {morning}


def test_the_digest_day_and_time_are_settings(sessions, monkeypatch):
    monkeypatch.setattr(digest, "DIGEST_WEEKDAY", 3)
    monkeypatch.setattr(digest, "DIGEST_TIME", "17:30")
    thursday = MONDAY + timedelta(days=3)
    with sessions() as s, s.begin():
        neighbourhoods(s)
        assert send_digests(s, local(thursday, 17, 29)) == 0
        assert send_digests(s, local(thursday, 17, 30)) == 3
        # Thursday's digest covers Thursday 19 .. Wednesday 25 November: 2 of the shopping requests + the lift.
        assert "Aanvragen: < 5" in [r.text for r in digests(s) if "Etterbeek" in r.text][0]


def test_two_instances_at_the_same_moment_send_it_once(sessions):
    """Four scheduler instances on one database tick at 09:00 together: each coordinator gets
    one digest (the week's marker is one unique row; the others find it and skip)."""
    with sessions() as s, s.begin():
        neighbourhoods(s)
    url = sessions.kw["bind"].url.render_as_string(hide_password=False)
    engines = [make_engine(url) for _ in range(4)]

    def instance(i: int) -> int:
        with make_sessionmaker(engines[i])() as s, s.begin():
            return send_digests(s, local(MONDAY, 9))

    try:
        assert sum(run_together(len(engines), instance)) == 3
    finally:
        for engine in engines:
            engine.dispose()
    with sessions() as s:
        assert len(digests(s)) == 3
