"""`buurtbot checkin add|list|pause|resume|stop`, run as the installed command from an empty
directory (tests/test_cli.py's way), and the database it leaves behind."""
from __future__ import annotations

from datetime import date, datetime, timezone

from sqlalchemy import select

from models import ChannelIdentity, Neighbourhood, Person
from models.db import make_engine, make_sessionmaker
from models.plan_times import next_due
from models.schedules import CheckinPlan
from tests.test_cli import assert_clean_failure, buurtbot, sqlite_url, upgraded, workdir  # noqa: F401

ADD = ("checkin", "add", "--neighbourhood", "etterbeek", "--name", "Maria", "--phone", "02 555 12 34",
       "--language", "nl", "--channel", "voice", "--days", "ma,do", "--time", "10:00",
       "--street", "Oudergemselaan 12", "--sender", "Fatima van het wijkhuis")


def setup(workdir, url) -> None:
    upgraded(workdir, url)
    result = buurtbot(workdir, url, "neighbourhood", "add", "--name", "Etterbeek", "--slug", "etterbeek",
                      "--postcodes", "1040")
    assert result.returncode == 0, result.stderr


def sessions_for(url):
    return make_sessionmaker(make_engine(url))


def add_volunteer(url, address: str, approved: bool = True) -> None:
    sessions = sessions_for(url)
    with sessions() as s, s.begin():
        nb_id = s.scalar(select(Neighbourhood.id).where(Neighbourhood.slug == "etterbeek"))
        p = Person(neighbourhood_id=nb_id, first_name="Jan", language="nl", is_volunteer=True,
                   volunteer_status="approved" if approved else "pending")
        s.add(p)
        s.flush()
        channel, rest = address.split(":", 1)
        s.add(ChannelIdentity(channel=channel, address=rest, person_id=p.id))


def test_add_without_consent_is_refused_politely_and_saves_nothing(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    result = buurtbot(workdir, sqlite_url, *ADD)
    assert_clean_failure(result, "consent", "Nothing was saved")
    with sessions_for(sqlite_url)() as s:
        assert s.scalar(select(CheckinPlan)) is None and s.scalar(select(Person)) is None


def test_add_enrols_with_consent_a_phone_in_e164_and_the_next_due_time(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    result = buurtbot(workdir, sqlite_url, *ADD, "--consent", "by phone with Fatima")
    assert result.returncode == 0, result.stderr
    assert "plan 1 for Maria" in result.stdout and "10:00 (Brussels)" in result.stdout
    with sessions_for(sqlite_url)() as s:
        plan = s.scalar(select(CheckinPlan))
        maria = plan.person
        assert maria.phone == "+3225551234" and maria.first_name == "Maria" and maria.street == "Oudergemselaan 12"
        assert maria.consent_at is not None
        assert (plan.channel, plan.days, plan.time_local, plan.status) == ("voice", [0, 3], "10:00", "active")
        assert plan.consent_how == "by phone with Fatima" and plan.consent_by and plan.consent_at is not None
        assert plan.sender_name == "Fatima van het wijkhuis"
        assert next_due([0, 3], "10:00", plan.consent_at) == plan.next_due_at
        assert [(i.channel, i.address) for i in maria.identities] == [("voice", "+3225551234")]
    # The same phone again (another way of writing it) changes the plan, it makes no second person.
    again = buurtbot(workdir, sqlite_url, *ADD[:-6], "--days", "tue", "--time", "14u", "--consent", "again",
                     "--phone", "+32 2 555 12 34")
    assert again.returncode == 0, again.stderr
    with sessions_for(sqlite_url)() as s:
        plans = s.scalars(select(CheckinPlan)).all()
        assert len(plans) == 1 and (plans[0].days, plans[0].time_local) == ([1], "14:00")
        assert len(s.scalars(select(Person)).all()) == 1


def test_bad_input_is_refused_without_a_traceback(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    consent = ("--consent", "yes")
    assert_clean_failure(buurtbot(workdir, sqlite_url, *ADD, *consent, "--phone", "hello"), "not a phone number")
    bad_days = list(ADD)
    bad_days[bad_days.index("ma,do")] = "someday"
    assert_clean_failure(buurtbot(workdir, sqlite_url, *bad_days, *consent), "not days")
    bad_time = list(ADD)
    bad_time[bad_time.index("10:00")] = "25:99"
    assert_clean_failure(buurtbot(workdir, sqlite_url, *bad_time, *consent), "not a time")
    assert_clean_failure(buurtbot(workdir, sqlite_url, *ADD, *consent, "--buddy", "telegram:999"), "nobody has")
    round_ = list(ADD)
    round_[round_.index("voice")] = "round"
    assert_clean_failure(buurtbot(workdir, sqlite_url, *round_, *consent), "caller")
    tg = list(ADD)
    tg[tg.index("voice")] = "telegram"
    assert_clean_failure(buurtbot(workdir, sqlite_url, *tg, *consent), "--address telegram:")
    assert_clean_failure(buurtbot(workdir, sqlite_url, "checkin", "pause", "--phone", "+3225550000"),
                         "nobody with that phone")


def test_buddy_must_be_an_approved_volunteer_and_round_has_a_caller(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    add_volunteer(sqlite_url, "telegram:501", approved=False)
    refused = buurtbot(workdir, sqlite_url, *ADD, "--consent", "ok", "--buddy", "telegram:501")
    assert_clean_failure(refused, "approved volunteer")
    add_volunteer(sqlite_url, "whatsapp:+32470000501")
    ok = buurtbot(workdir, sqlite_url, *ADD, "--consent", "ok", "--buddy", "whatsapp:0470 00 05 01")
    assert ok.returncode == 0, ok.stderr
    rounds = list(ADD)
    rounds[rounds.index("voice")] = "round"
    ok = buurtbot(workdir, sqlite_url, *rounds, "--consent", "ok", "--caller", "whatsapp:+32470000501",
                  "--phone", "+3225559999", "--name", "Louis")
    assert ok.returncode == 0, ok.stderr
    with sessions_for(sqlite_url)() as s:
        plans = s.scalars(select(CheckinPlan).order_by(CheckinPlan.id)).all()
        assert plans[0].buddy.first_name == "Jan"
        assert (plans[1].kind, plans[1].channel, plans[1].caller.first_name) == ("round", "round", "Jan")


def test_list_pause_resume_stop(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    assert buurtbot(workdir, sqlite_url, *ADD, "--consent", "ok").returncode == 0
    listed = buurtbot(workdir, sqlite_url, "checkin", "list", "--neighbourhood", "etterbeek")
    assert listed.returncode == 0, listed.stderr
    line = listed.stdout.strip().split("\t")
    assert line[:6] == ["1", "Maria", "voice", "mon,thu", "10:00", "active"] and "Brussels" in line[6]
    assert "555" not in listed.stdout  # no phone numbers unless asked
    shown = buurtbot(workdir, sqlite_url, "checkin", "list", "--neighbourhood", "etterbeek", "--show-phones")
    assert "+3225551234" in shown.stdout

    future = date(2031, 1, 6)  # a Monday
    paused = buurtbot(workdir, sqlite_url, "checkin", "pause", "--phone", "025551234", "--until", future.isoformat())
    assert paused.returncode == 0, paused.stderr
    with sessions_for(sqlite_url)() as s:
        plan = s.scalar(select(CheckinPlan))
        assert (plan.status, plan.paused_until) == ("paused", future)
        assert plan.next_due_at == datetime(2031, 1, 6, 9, 0, tzinfo=timezone.utc)  # 10:00 in Brussels
    listed = buurtbot(workdir, sqlite_url, "checkin", "list", "--neighbourhood", "etterbeek")
    assert "paused until 2031-01-06" in listed.stdout

    held = buurtbot(workdir, sqlite_url, "checkin", "pause", "--address", "voice:+3225551234")
    assert held.returncode == 0 and "until resumed" in held.stdout
    with sessions_for(sqlite_url)() as s:
        plan = s.scalar(select(CheckinPlan))
        assert (plan.status, plan.next_due_at) == ("paused", None)
    resumed = buurtbot(workdir, sqlite_url, "checkin", "resume", "--phone", "+3225551234")
    assert resumed.returncode == 0, resumed.stderr
    with sessions_for(sqlite_url)() as s:
        plan = s.scalar(select(CheckinPlan))
        assert plan.status == "active" and plan.next_due_at is not None and plan.paused_until is None
    stopped = buurtbot(workdir, sqlite_url, "checkin", "stop", "--phone", "+3225551234")
    assert stopped.returncode == 0, stopped.stderr
    with sessions_for(sqlite_url)() as s:
        plan = s.scalar(select(CheckinPlan))
        assert (plan.status, plan.next_due_at) == ("stopped", None)
    assert "no check-in plans" in buurtbot(workdir, sqlite_url, "checkin", "list", "--neighbourhood",
                                           "etterbeek").stdout


def test_a_demo_chat_plan_with_its_coordinator(workdir, sqlite_url):
    setup(workdir, sqlite_url)
    with sessions_for(sqlite_url)() as s, s.begin():
        nb_id = s.scalar(select(Neighbourhood.id).where(Neighbourhood.slug == "etterbeek"))
        fatima = Person(neighbourhood_id=nb_id, first_name="Fatima", is_coordinator=True)
        s.add(fatima)
        s.flush()
        s.add(ChannelIdentity(channel="demo", address="fatima", person_id=fatima.id))
    demo = list(ADD)
    demo[demo.index("voice")] = "demo"
    result = buurtbot(workdir, sqlite_url, *demo, "--address", "demo:oma", "--coordinator", "demo:fatima",
                      "--consent", "at the wijkhuis")
    assert result.returncode == 0, result.stderr
    with sessions_for(sqlite_url)() as s:
        plan = s.scalar(select(CheckinPlan))
        assert (plan.channel, plan.coordinator.first_name, plan.consent_by) == ("demo", "Fatima", "Fatima")
        assert sorted((i.channel, i.address) for i in plan.person.identities) == [("demo", "oma")]
    # Someone who is not a coordinator of it cannot be named as one.
    refused = buurtbot(workdir, sqlite_url, *demo, "--address", "demo:oma", "--coordinator", "demo:oma",
                       "--consent", "ok")
    assert_clean_failure(refused, "is not a coordinator")


def test_a_telegram_plan_finds_the_chat_of_whoever_has_that_phone(workdir, sqlite_url):
    """--channel telegram with only --phone: the chat of the person who gave that number (they
    wrote to the bot); a number nobody on Telegram has is refused with what to do."""
    setup(workdir, sqlite_url)
    with sessions_for(sqlite_url)() as s, s.begin():
        nb_id = s.scalar(select(Neighbourhood.id).where(Neighbourhood.slug == "etterbeek"))
        maria = Person(neighbourhood_id=nb_id, first_name="Maria", language="nl", phone="+32470123456")
        s.add(maria)
        s.flush()
        s.add(ChannelIdentity(channel="telegram", address="5551234", person_id=maria.id))
    telegram = ("checkin", "add", "--neighbourhood", "etterbeek", "--name", "Maria", "--language", "nl",
                "--channel", "telegram", "--days", "mon,thu", "--time", "10:00", "--consent", "in the chat")
    result = buurtbot(workdir, sqlite_url, *telegram, "--phone", "0470 12 34 56")
    assert result.returncode == 0, result.stderr
    with sessions_for(sqlite_url)() as s:
        plan = s.scalar(select(CheckinPlan))
        assert plan.channel == "telegram" and plan.person.first_name == "Maria"
        assert [(i.channel, i.address) for i in plan.person.identities] == [("telegram", "5551234")]
    assert_clean_failure(buurtbot(workdir, sqlite_url, *telegram, "--phone", "+32470999999"), "--address telegram:")
