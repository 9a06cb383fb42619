"""The broadcast engine (handlers/broadcasts.py): who gets it and why not, the preview, the
``broadcasts`` sweep that materialises recipients in batches (each batch and its cursor one
transaction: nobody twice, nobody missed), quiet hours, cancel, counts and the author's
progress and summary -- on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text as sql_text, update

from bot.demo import seed
from handlers import broadcasts as engine_
from handlers.broadcasts import Audience, cancel, confirm, counts, create, describe, describe_counts, preview
from handlers.i18n import speaking
from models import ChannelIdentity, Outbox, Person
from models.base import TZ, utcnow
from models.broadcasts import Broadcast, BroadcastRecipient
from models.db import make_sessionmaker, transaction
from models.network import add_neighbourhood
from models.schedules import CheckinPlan

#: A Tuesday afternoon in Brussels: outside everyone's quiet hours.
NOON = datetime(2026, 12, 8, 13, 0, tzinfo=TZ).astimezone(timezone.utc)


def person(s, nb, name, language="nl", *identities, **flags) -> Person:
    """A person with identities (channel, address[, active, opted_out])."""
    p = Person(neighbourhood_id=nb.id, first_name=name, language=language, consent_at=utcnow(),
               consent_version="test", **{"is_resident": True, **flags})
    s.add(p)
    s.flush()
    for n, (channel, address, *state) in enumerate(identities):
        active, opted_out = (state + [True, False])[:2] if state else (True, False)
        s.add(ChannelIdentity(channel=channel, address=address, person_id=p.id, language=language, active=active,
                              opted_out_at=utcnow() if opted_out else None,
                              last_inbound_at=utcnow() - timedelta(minutes=10 - n)))
    s.flush()
    return p


def coordinator(s, nb) -> Person:
    return s.scalar(select(Person).where(Person.neighbourhood_id == nb.id, Person.is_coordinator.is_(True)))


def sweep(sessions, now=NOON) -> int:
    """The sweep as the runner calls it: one transaction a call, again while it returns BATCH."""
    total = 0
    while True:
        with transaction(sessions) as s:
            handled = engine_.send_broadcasts(s, now)
        total += handled
        if handled < engine_.BATCH:
            return total


@pytest.fixture
def street(sessions):
    """Demo's coordinator Fatima and nine neighbours, each a case of reaching or not."""
    with sessions() as s, s.begin():
        nb = seed(s)
        other = add_neighbourhood(s, "Elders", "elders", ["1050"])
        people = dict(
            jan=person(s, nb, "Jan", "nl", ("telegram", "1001"), street="Kerkstraat",
                       address_full="Kerkstraat 1, 1040"),
            amelie=person(s, nb, "Amélie", "fr", ("demo", "amelie"), ("whatsapp", "+32470000010"),
                          street="Rue de la Paix"),
            samira=person(s, nb, "Samira", "ar", ("sms", "+32470000011"), is_volunteer=True,
                          volunteer_status="approved", is_resident=False),
            piet=person(s, nb, "Piet", "nl", ("demo", "piet"), paused=True),
            dirk=person(s, nb, "Dirk", "nl", ("demo", "dirk"), do_not_contact=True),
            omar=person(s, nb, "Omar", "fr", ("sms", "+32470000012", True, True)),
            lies=person(s, nb, "Lies", "nl", ("telegram", "1002", False, False)),
            nobody=person(s, nb, "Mo", "nl"),
            caller=person(s, nb, "Rosa", "nl", ("voice", "+32470000013")),
        )
        person(s, other, "Elsewhere", "nl", ("demo", "elsewhere"))
        return {"nb": nb.id, **{k: v.id for k, v in people.items()}}


def draft(s, ids, audience=Audience(), buttons=(), send_at=None, texts=None):
    nb = s.get(type(seed(s)), ids["nb"])
    return create(s, nb, coordinator(s, nb), texts or {"nl": "Buurtfeest zaterdag!", "fr": "Fête samedi !"}, "nl",
                  audience, buttons=buttons, send_at=send_at)


def test_the_preview_counts_channels_versions_and_reasons(sessions, street):
    with sessions() as s, s.begin():
        p = preview(s, draft(s, street), NOON)
    assert p.recipients == 3  # Jan, Amélie, Samira; not the coordinator herself, not the other neighbourhood
    assert p.by_channel == {"telegram": 1, "whatsapp": 1, "sms": 1}  # Amélie last wrote on WhatsApp
    assert p.by_language == {"nl": 2, "fr": 1}  # Samira reads the Dutch base: there is no Arabic version
    assert set(p.spoken) == {"nl", "fr", "ar"}
    assert p.skipped == {"paused": 1, "do_not_contact": 1, "opted_out": 1, "unreachable": 1, "no_channel": 2}
    assert p.seconds == 1.0  # one SMS at 1/s is the slowest channel
    assert p.sms_segments == 1 and p.cost_eur == pytest.approx(0.09)
    with speaking("en"):
        text = describe(p)
    assert "3 people" in text and "Telegram 1" in text and "Not sent to 6 people" in text
    assert "paused 1" in text and "EUR 0.09" in text


@pytest.mark.parametrize("audience, expected", [
    (Audience("volunteers"), {"samira"}),
    (Audience("residents"), {"jan", "amelie"}),
    (Audience(language="fr"), {"amelie"}),
    (Audience(street=" kerkstraat"), {"jan"}),
    (Audience(postcode="1040"), {"jan"}),
])
def test_the_audience_narrows(sessions, street, audience, expected):
    with sessions() as s, s.begin():
        bc = draft(s, street, audience)
        confirm(s, bc, NOON)
    sweep(sessions)
    with sessions() as s:
        got = set(s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.status == "queued")))
    assert got == {street[name] for name in expected}


def test_the_sweep_writes_one_bulk_row_each_in_their_version_with_answer_buttons(sessions, street):
    with sessions() as s, s.begin():
        bc = draft(s, street, buttons=("coming", "pickup"))
        confirm(s, bc, NOON)
        bc_id = bc.id
    assert sweep(sessions) == 9
    assert sweep(sessions) == 0  # nothing twice
    with sessions() as s:
        rows = {r.identity_id: r for r in s.scalars(select(Outbox).where(Outbox.purpose == "broadcast"))}
        identity = {i.person_id: i.id for i in s.scalars(select(ChannelIdentity))}
        assert len(rows) == 3
        amelie = rows[identity[street["amelie"]]]
        assert amelie.idempotency_key == f"broadcast:{bc_id}:{street['amelie']}" and amelie.priority == 2
        assert "Fête samedi !" in amelie.text and amelie.language == "fr"
        assert [o["payload"] for o in amelie.options] == [f"bca:coming:{bc_id}", f"bca:pickup:{bc_id}"]
        samira = s.scalar(select(Outbox).where(Outbox.address == "+32470000011"))
        assert "Buurtfeest zaterdag!" in samira.text and samira.channel == "sms"
        reasons = dict(s.execute(select(BroadcastRecipient.person_id, BroadcastRecipient.reason)).all())
        assert reasons[street["omar"]] == "opted_out" and reasons[street["caller"]] == "no_channel"
        assert s.get(Broadcast, bc_id).materialised_at is not None and s.get(Broadcast, bc_id).status == "sending"


def test_quiet_hours_hold_a_row_until_they_end(sessions, street):
    late = datetime(2026, 12, 8, 22, 30, tzinfo=TZ).astimezone(timezone.utc)
    with sessions() as s, s.begin():
        s.add(CheckinPlan(person_id=street["jan"], neighbourhood_id=street["nb"], channel="telegram",
                          quiet_start="20:00", quiet_end="09:30"))
        bc = draft(s, street)
        confirm(s, bc, late)
    sweep(sessions, late)
    with sessions() as s:
        when = {r.address: r.next_attempt_at.astimezone(TZ) for r in s.scalars(select(Outbox))}
    assert when["1001"] == datetime(2026, 12, 9, 9, 30, tzinfo=TZ)  # Jan's own plan
    assert when["+32470000010"] == datetime(2026, 12, 9, 8, 0, tzinfo=TZ)  # the default 21:00-08:00


def test_stop_withdraws_a_broadcast_row_still_held_back_by_quiet_hours(sessions, street):
    """/stop at 22:45 means the broadcast row waiting for 08:00 never goes (handlers/account.py stop)."""
    from handlers.core import Inbound
    from handlers.dispatch import Dispatcher

    late = datetime(2026, 12, 8, 22, 30, tzinfo=TZ).astimezone(timezone.utc)
    with sessions() as s, s.begin():
        confirm(s, draft(s, street), late)
    sweep(sessions, late)
    assert Dispatcher(sessions).handle(Inbound(channel="demo", address="amelie", text="/stop")) == "ok"
    with sessions() as s:
        rows = {r.address: r.status for r in s.scalars(select(Outbox).where(Outbox.purpose == "broadcast"))}
    assert rows["+32470000010"] == "failed" and rows["1001"] == "pending"  # only hers; Jan's still goes at 08:00


def test_a_scheduled_broadcast_waits_and_a_cancelled_one_never_goes(sessions, street):
    with sessions() as s, s.begin():
        later = draft(s, street, send_at=NOON + timedelta(hours=2))
        confirm(s, later, NOON)
        dropped = draft(s, street, send_at=NOON + timedelta(hours=2))
        confirm(s, dropped, NOON)
        assert later.status == "scheduled" and cancel(s, dropped, NOON) == 0
        ids = later.id, dropped.id
    assert sweep(sessions, NOON + timedelta(hours=1)) == 0
    sweep(sessions, NOON + timedelta(hours=2))
    with sessions() as s:
        per = dict(s.execute(select(BroadcastRecipient.broadcast_id, func.count()).group_by(
            BroadcastRecipient.broadcast_id)).all())
        assert per == {ids[0]: 9} and s.get(Broadcast, ids[1]).status == "cancelled"


@pytest.mark.parametrize("texts, base, audience, buttons, reason", [
    ({"nl": "  "}, "nl", Audience(), (), "no_text"),
    ({"fr": "Bonjour"}, "nl", Audience(), (), "base_language"),
    ({"nl": "x" * 1501}, "nl", Audience(), (), "too_long"),
    ({"nl": "Hallo"}, "nl", Audience("everybody"), (), "audience"),
    ({"nl": "Hallo"}, "nl", Audience(), ("maybe",), "button"),
])
def test_create_refuses_what_cannot_go(sessions, street, texts, base, audience, buttons, reason):
    with sessions() as s, s.begin():
        nb = seed(s)
        with pytest.raises(ValueError, match=reason):
            create(s, nb, coordinator(s, nb), texts, base, audience, buttons=buttons)


def test_only_a_coordinator_of_that_neighbourhood_may_write_one(sessions, street):
    with sessions() as s, s.begin():
        nb = seed(s)
        with pytest.raises(ValueError, match="not_coordinator"):
            create(s, nb, s.get(Person, street["jan"]), {"nl": "Hallo"}, "nl", Audience())
        elders = add_neighbourhood(s, "Verder", "verder", ["1060"])
        with pytest.raises(ValueError, match="not_coordinator"):
            create(s, elders, coordinator(s, nb), {"nl": "Hallo"}, "nl", Audience())
        assert create(s, nb, None, {"nl": "Hallo"}, "nl", Audience(), source="cli").status == "draft"


def many(sessions, n: int, channel: str = "telegram") -> int:
    """``n`` residents of Demo reachable on ``channel``, written with Core (fast)."""
    with sessions() as s, s.begin():
        nb = seed(s)
        start = s.scalar(select(func.coalesce(func.max(Person.id), 0)))
        s.execute(insert(Person), [dict(id=start + i + 1, neighbourhood_id=nb.id, first_name=f"P{i}",
                                        language="nl" if i % 3 else "fr", is_resident=True, languages_spoken=[],
                                        categories=[], consent_version="t") for i in range(n)])
        s.execute(insert(ChannelIdentity), [dict(channel=channel, address=str(900000 + i), person_id=start + i + 1,
                                                 language="nl", active=True) for i in range(n)])
        if s.get_bind().dialect.name == "postgresql":
            s.execute(select(func.setval("people_id_seq", start + n)))
        return nb.id


def test_a_crash_in_the_middle_resumes_at_the_cursor_nobody_twice(sessions):
    many(sessions, 1200)
    with sessions() as s, s.begin():
        nb = seed(s)
        bc = create(s, nb, coordinator(s, nb), {"nl": "Hallo"}, "nl", Audience())
        confirm(s, bc, NOON)
        bc_id = bc.id
    with transaction(sessions) as s:
        assert engine_.send_broadcasts(s, NOON) == 500
    with pytest.raises(RuntimeError), transaction(sessions) as s:  # killed after writing its batch
        assert engine_.send_broadcasts(s, NOON) == 500
        raise RuntimeError("killed")
    with sessions() as s:
        assert s.get(Broadcast, bc_id).cursor > 0
        assert s.scalar(select(func.count()).select_from(BroadcastRecipient)) == 500
    assert sweep(sessions) == 700
    with sessions() as s:
        keys = list(s.scalars(select(Outbox.idempotency_key).where(Outbox.purpose == "broadcast")))
        assert len(keys) == len(set(keys)) == 1200
        assert s.scalar(select(func.count(func.distinct(BroadcastRecipient.person_id)))) == 1200


def test_two_instances_materialising_at_once_write_everyone_once(sessions):
    many(sessions, 1500)
    with sessions() as s, s.begin():
        nb = seed(s)
        bc = create(s, nb, None, {"nl": "Hallo"}, "nl", Audience(), source="cli")
        confirm(s, bc, NOON)
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def instance():
        try:
            start.wait()
            for _ in range(20):
                sweep(sessions)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            errors.append(exc)

    threads = [threading.Thread(target=instance) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with sessions() as s:
        # 1,501: from the command line there is no author, so Fatima the coordinator gets it too
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.purpose == "broadcast")) == 1501
        assert s.scalar(select(func.count(func.distinct(Outbox.idempotency_key)))) == 1501
        assert s.scalar(select(func.count()).select_from(BroadcastRecipient)) == 1501


def test_cancel_while_sending_withdraws_what_has_not_gone(sessions):
    many(sessions, 600)
    with sessions() as s, s.begin():
        nb = seed(s)
        bc = create(s, nb, None, {"nl": "Hallo"}, "nl", Audience(), source="cli")
        confirm(s, bc, NOON)
        bc_id = bc.id
    sweep(sessions)
    with sessions() as s, s.begin():
        first = list(s.scalars(select(Outbox.id).where(Outbox.purpose == "broadcast").order_by(Outbox.id).limit(100)))
        s.execute(update(Outbox).where(Outbox.id.in_(first)).values(status="sent"))
        assert cancel(s, s.get(Broadcast, bc_id), NOON) == 501  # and Fatima: no author from the command line
    sweep(sessions)
    with sessions() as s:
        c = counts(s, s.get(Broadcast, bc_id))
        assert (c.recipients, c.sent, c.delivered, c.withdrawn, c.queued) == (601, 100, 100, 501, 0)
        assert s.get(Broadcast, bc_id).status == "cancelled"


def author_messages(s, bc_id) -> list[str]:
    return list(s.scalars(select(Outbox.text).where(Outbox.idempotency_key.like(f"broadcast:{bc_id}:%:%"))
                          .order_by(Outbox.id)))


def test_the_author_gets_a_few_progress_messages_and_one_summary(sessions):
    many(sessions, 200)
    with sessions() as s, s.begin():
        nb = seed(s)
        bc = create(s, nb, coordinator(s, nb), {"nl": "Hallo"}, "nl", Audience(), buttons=("coming",))
        confirm(s, bc, NOON)
        bc_id = bc.id
    sweep(sessions)

    def go(n: int, **values):
        with sessions() as s, s.begin():
            ids = list(s.scalars(select(Outbox.id).where(Outbox.purpose == "broadcast", Outbox.status == "pending")
                                 .order_by(Outbox.id).limit(n)))
            s.execute(update(Outbox).where(Outbox.id.in_(ids)).values(status="sent", **values))
        sweep(sessions)
        sweep(sessions)
        with sessions() as s:
            return author_messages(s, bc_id)

    assert go(40) == []
    assert len(go(20)) == 1  # 60 of 200: past a quarter
    assert len(go(50)) == 2  # 110: past half
    assert len(go(85, delivery_status="failed")) == 3  # 195: past three quarters
    with sessions() as s, s.begin():
        s.execute(update(BroadcastRecipient).where(BroadcastRecipient.id <= 7).values(answer="coming"))
    messages = go(5)
    assert len(messages) == 4 and len(go(0)) == 4  # one summary, never again
    assert messages[-1].startswith('Your message "Hallo" has gone out.') and '"Hallo" is on its way' in messages[0]
    assert "115 of 200" in messages[-1] and "85" in messages[-1] and "coming 7" in messages[-1]
    with sessions() as s:
        assert s.get(Broadcast, bc_id).status == "sent"
        c = counts(s, s.get(Broadcast, bc_id))
    assert (c.sent, c.failed, c.queued, c.answers) == (115, 85, 0, {"coming": 7})
    with speaking("en"):
        assert "Sent: 115 of 200 (delivered: 115)" in describe_counts(c)


def test_erasing_a_recipient_or_the_author_keeps_the_counts_not_the_people(sessions, street):
    """The foreign keys' ON DELETE SET NULL does it (models/broadcasts.py), on both databases."""
    from models.privacy import erase

    with sessions() as s, s.begin():
        bc = draft(s, street)
        confirm(s, bc, NOON)
        bc_id = bc.id
    sweep(sessions)
    with sessions() as s, s.begin():
        author = s.get(Broadcast, bc_id).author_id
        erase(s, s.get(Person, street["jan"]))
        erase(s, s.get(Person, author))
    with sessions() as s:
        bc = s.get(Broadcast, bc_id)
        assert bc.author_id is None
        people = set(s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == bc_id)))
        assert street["jan"] not in people and None in people
        c = counts(s, bc)
    assert c.recipients == 3 and sum(c.skipped.values()) == 6


def test_the_settings_set_the_rates_the_price_and_the_twilio_segment_count(sessions, street, monkeypatch):
    from bot.cli_broadcast import apply_settings
    from bot.settings import Settings

    monkeypatch.setattr(engine_, "RATES", dict(engine_.RATES))
    monkeypatch.setattr(engine_, "SMS_SEGMENT_PRICE", engine_.SMS_SEGMENT_PRICE)
    # as before any settings were applied (a Runtime built by an earlier test applies them to the module)
    monkeypatch.setattr(engine_, "SMS_SEGMENTS", engine_.approximate_sms_segments)
    long = "Beste buren, " + "zaterdag is er een buurtfeest op het plein met soep en muziek. " * 6
    with sessions() as s, s.begin():
        # The estimate: one UCS-2 text (Samira reads Arabic: the name in it is isolated right-to-left), 67 a segment
        assert preview(s, draft(s, street, texts={"nl": long}), NOON).sms_segments == 7
    apply_settings(Settings(twilio_rate_sms=0.5, sms_segment_price_eur=0.2, twilio_sms_max_segments=2))
    with sessions() as s, s.begin():
        p = preview(s, draft(s, street, texts={"nl": long}), NOON)
    assert p.seconds == 2.0  # one SMS at 0.5/s
    # As the Twilio sender splits it: SMS of at most two segments each, cut between sentences
    assert p.sms_segments == 6 and p.cost_eur == pytest.approx(1.2)


@pytest.mark.parametrize("language, words", [
    ("nl", ("Dit bericht gaat naar 3 personen.", "Niet verstuurd naar 6 personen:", "gepauzeerd 1", "Via: ")),
    ("fr", ("Ce message sera envoyé à 3 personnes.", "Pas envoyé à 6 personnes :", "en pause 1", "Par : ")),
])
def test_the_preview_and_the_counts_read_in_the_coordinators_language(sessions, street, language, words):
    with sessions() as s, s.begin():
        bc = draft(s, street)
        p = preview(s, bc, NOON)
        confirm(s, bc, NOON)
    sweep(sessions)
    with sessions() as s:
        c = counts(s, s.get(Broadcast, bc.id))
    with speaking(language):
        text, status = describe(p), describe_counts(c)
    assert all(w in text for w in words), text
    assert ("Verstuurd: 0 van 3" if language == "nl" else "Envoyé : 0 sur 3") in status
    assert ("Nog te versturen: 3" if language == "nl" else "Encore à envoyer : 3") in status


def recipients(s, bc_id) -> list[int]:
    return sorted(s.scalars(select(BroadcastRecipient.person_id).where(BroadcastRecipient.broadcast_id == bc_id)))


def test_a_postcode_audience_walks_every_batch_however_many_do_not_match(sessions, monkeypatch):
    """Batches count candidates, not matches: "10400" looks like 1040 to SQL, and a whole batch of
    such addresses ends neither the preview nor the sending. The postcode typed when joining
    (Person.postcode) counts as much as one in the address."""
    monkeypatch.setattr(engine_, "BATCH", 5)
    with sessions() as s, s.begin():
        nb = seed(s)
        expected = []
        for i in range(17):
            if 3 <= i < 9:  # six in a row: one batch has none of the audience
                where = dict(address_full=f"Rue X {i}, 10400 Elders")
            elif i % 4 == 0:
                where = dict(postcode="1040")  # joined with 1040, no address yet
            else:
                where = dict(address_full=f"Rue X {i}, 1040 Etterbeek")
            p = person(s, nb, f"P{i}", "nl", ("telegram", str(5000 + i)), **where)
            if not 3 <= i < 9:
                expected.append(p.id)
        bc = create(s, nb, coordinator(s, nb), {"nl": "Hallo"}, "nl", Audience(postcode="1040"))
        assert preview(s, bc, NOON).recipients == len(expected) == 11
        confirm(s, bc, NOON)
        bc_id = bc.id
    sweep(sessions)
    with sessions() as s:
        assert recipients(s, bc_id) == expected
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.purpose == "broadcast")) == 11
        assert s.get(Broadcast, bc_id).materialised_at is not None


@pytest.mark.parametrize("typed", ["rue de l'église", "RUE DE L’ÉGLISE", " Rue  de l'E\u0301glise "])
def test_a_street_audience_matches_whatever_the_case_and_accents(sessions, monkeypatch, typed):
    """SQLite's lower() knows only ASCII: the street is compared casefolded in Python, with the
    same batching by candidates (here a batch of two with nobody of the street in it)."""
    monkeypatch.setattr(engine_, "BATCH", 2)
    with sessions() as s, s.begin():
        nb = seed(s)
        streets = ["Rue de l'Église", "Rue de la Paix", "Rue de la Paix", "Rue de l'Église", "Rue de la Paix",
                   "Rue de la Paix", "rue de l'église"]
        people = [person(s, nb, f"P{i}", "fr", ("telegram", str(6000 + i)), street=street)
                  for i, street in enumerate(streets)]
        expected = [p.id for p in people if "glise" in p.street]
        bc = create(s, nb, coordinator(s, nb), {"fr": "Bonjour"}, "fr", Audience(street=typed))
        assert preview(s, bc, NOON).recipients == 3
        confirm(s, bc, NOON)
        bc_id = bc.id
    sweep(sessions)
    with sessions() as s:
        assert recipients(s, bc_id) == expected


def test_a_cancel_waits_for_the_batch_being_written_and_withdraws_it(pg_migrated):
    """PostgreSQL, two sessions: the sweep has moved a due broadcast to sending and written a
    batch, not yet committed, when a coordinator cancels it. The cancel locks the broadcast,
    waits, reads it again and withdraws that batch: nothing of a cancelled broadcast goes."""
    from tests.conftest import _truncate_pg
    from tests.test_e2e_checkin import wait_for

    _truncate_pg(pg_migrated)
    sessions = make_sessionmaker(pg_migrated)
    many(sessions, 40)
    later = NOON + timedelta(hours=1)
    with sessions() as s, s.begin():
        nb = seed(s)
        bc = create(s, nb, coordinator(s, nb), {"nl": "Hallo"}, "nl", Audience(), send_at=later)
        confirm(s, bc, NOON)
        bc_id = bc.id
    seen: dict = {}

    def coordinator_cancels():
        try:
            with sessions() as s, s.begin():
                bc = s.get(Broadcast, bc_id)
                seen["status"] = bc.status  # the sweep has not committed: still "scheduled" here
                seen["withdrawn"] = cancel(s, bc, later)
        except BaseException as exc:  # noqa: BLE001 -- reported below
            seen["error"] = exc

    sweeper = sessions()
    try:
        with sweeper.begin():
            assert engine_.send_broadcasts(sweeper, later) == 40  # and holds the broadcast's row
            thread = threading.Thread(target=coordinator_cancels)
            thread.start()

            def cancel_waits() -> bool:
                assert thread.is_alive(), seen
                with pg_migrated.connect() as admin:
                    return bool(admin.execute(sql_text(
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND datname = current_database()")).scalar())

            wait_for(cancel_waits, "the cancel to wait for the sweep's transaction")
    finally:
        sweeper.close()
    thread.join()
    assert "error" not in seen, seen
    assert seen == {"status": "scheduled", "withdrawn": 40}
    sweep(sessions, later)
    with sessions() as s:
        assert s.get(Broadcast, bc_id).status == "cancelled"
        left = s.scalar(select(func.count()).select_from(Outbox).where(Outbox.purpose == "broadcast",
                                                                       Outbox.status != "cancelled"))
        assert left == 0 and counts(s, s.get(Broadcast, bc_id)).withdrawn == 40


def test_a_cancel_decides_on_the_status_read_under_its_lock(pg_migrated):
    """The coordinator's screen was read while it was sending; meanwhile everything went and the
    summary made it "sent". The cancel reads it again under the lock and changes nothing."""
    from tests.conftest import _truncate_pg

    _truncate_pg(pg_migrated)
    sessions = make_sessionmaker(pg_migrated)
    many(sessions, 5)
    with sessions() as s, s.begin():
        nb = seed(s)
        bc = create(s, nb, coordinator(s, nb), {"nl": "Hallo"}, "nl", Audience())
        confirm(s, bc, NOON)
        bc_id = bc.id
    sweep(sessions)
    with sessions() as a, a.begin():
        bc = a.get(Broadcast, bc_id)
        assert bc.status == "sending"
        with sessions() as b, b.begin():
            b.execute(update(Outbox).where(Outbox.purpose == "broadcast").values(status="sent"))
            b.execute(update(Broadcast).where(Broadcast.id == bc_id).values(status="sent", summary_at=NOON))
        assert cancel(a, bc, NOON) == 0 and bc.status == "sent"
    with sessions() as s:
        assert s.get(Broadcast, bc_id).status == "sent" and s.get(Broadcast, bc_id).cancelled_at is None


def test_the_postcode_typed_when_joining_is_kept_and_a_postcode_broadcast_reaches_them(chat, sessions):
    chat.join("maria", "Maria", postcode="Ik woon in 1040 Etterbeek")
    with sessions() as s, s.begin():
        maria = s.scalar(select(Person).where(Person.first_name == "Maria"))
        assert maria.postcode == "1040" and maria.address_full is None
        nb = seed(s)
        bc = create(s, nb, coordinator(s, nb), {"nl": "Hallo"}, "nl", Audience(postcode="1040"))
        assert preview(s, bc, NOON).recipients == 1
    assert any("Adres: 1040" in m["text"] for m in chat.send("maria", "/mydata"))  # theirs to see
