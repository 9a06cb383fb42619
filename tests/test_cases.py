"""Concerns, referrals and neighbourhood problems as cases (issue 12): anyone raises one (the
menu, /worried, /problem, or a worry in free text such as the pharmacist's in FIELD-NOTES), is
thanked and hears nothing more; only the coordinators of that neighbourhood are told, take it,
turn it into a follow-up and close it with an outcome. Partners and key figures refer someone
with consent. Open referrals are reminded after REFERRAL_REMIND_DAYS (explicit clock).
Demo channel, nl and fr; Telegram at the end."""
from __future__ import annotations

import shutil
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot.demo import CHANNEL, seed
from handlers.cases import REFERRAL_REMIND_DAYS, referral_remind_at, sweep_cases
from handlers.core import Inbound
from handlers.i18n import catalog, format_day, speaking
from handlers.sweeps import SWEEPS
from models import Outbox
from models.base import TZ, utcnow
from models.cases import Case, open_case
from models.directory import Service
from models.network import INVITE_ROLES, add_neighbourhood, create_invite, neighbourhood_by_slug
from models.privacy import erase
from tests.flowkit import Do, Row, T, count, dispatcher, has, person, pid, play, resident, volunteer  # noqa: F401
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.test_concurrency import OnePerThread, add_person, run_together
from tests.tgkit import TelegramPeople, build_runtime, join, running

PHARMACIST = ("Apotheek hier. Meneer M. haalt normaal elke week zijn medicatie, maar ik heb hem al drie weken niet "
              "gezien. Dat is niet normaal.")
NEIGHBOUR_FR = "Je n'ai pas vu la dame du numéro 12 depuis une semaine, ses volets restent fermés."
STREET_LIGHT = "De straatlamp aan het pleintje is al twee weken kapot, het is er 's avonds donker."
THANKS = ("Thank you for telling us. I passed this on to {contact} only; they will follow it up. If you think someone "
          "is in danger, call 112.")
#: Monday 7 December 2026, 10:00 in Brussels.
MONDAY = datetime(2026, 12, 7, 10, 0, tzinfo=TZ).astimezone(timezone.utc)


def invited(who, name, lang, role, slug="demo"):
    """Someone who joins ``slug`` with an invite of ``role`` (the seeded coordinator is Fatima, English)."""
    def invite(s, v):
        nb = neighbourhood_by_slug(s, slug) or add_neighbourhood(s, "Elsene", slug, ["1050"])
        v[f"code_{who}"] = create_invite(s, nb, role).code
    return [Do(invite), Row(who, lambda v: f"/start {v[f'code_{who}']}"), Row(who, payload=f"lang:{lang}"),
            Row(who, payload="yes"), Row(who, name)]


PEOPLE = (invited("kees", "Kees", "nl", "coordinator") + invited("sophie", "Sophie", "fr", "coordinator")
          + invited("els", "Els", "nl", "coordinator", slug="elsene")
          + invited("apotheek", "Lotte", "nl", "partner") + invited("pharmacie", "Chloé", "fr", "keyfigure")
          + resident("maria", "Maria", "nl") + resident("rosa", "Rosa", "fr") + volunteer("ahmed", "Ahmed", "nl"))
EVERYONE = ("kees", "sophie", "els", "apotheek", "pharmacie", "maria", "rosa", "ahmed", "coordinator")


def setup(chat, *rows) -> dict:
    v = play(chat, PEOPLE + [Row("maria", "/menu"), Row("rosa", "/menu")] + list(rows))
    for who in EVERYONE:
        chat.new(who)
    return v


def last_case(s, v):
    v["case"] = s.scalar(select(func.max(Case.id)))


def case_is(**want):
    def check(s, v):
        case = s.get(Case, v["case"])
        for key, value in want.items():
            value = value(s, v) if callable(value) else value
            assert getattr(case, key) == value, f"{key}: {getattr(case, key)!r}, wanted {value!r}"
    return check


def by(who):
    return lambda s, v: pid(s, who)


def no_change(s, v):
    case = s.get(Case, v["case"])
    assert (case.status, case.assignee_id, case.action, case.outcome) == v["before"], "the case changed"


def remember(s, v):
    case = s.get(Case, v["case"])
    v["before"] = (case.status, case.assignee_id, case.action, case.outcome)


CASE = lambda what: lambda v: f"case:{what}:{v['case']}"  # noqa: E731


def test_invite_roles_partner_and_key_figure(chat):
    setup(chat)
    with chat.sessions() as s:
        assert "partner" in INVITE_ROLES and "keyfigure" in INVITE_ROLES
        lotte, chloe = person(s, "apotheek"), person(s, "pharmacie")
        assert lotte.is_partner and not lotte.is_coordinator and not lotte.is_volunteer
        assert chloe.is_key_figure and not chloe.is_partner and not chloe.is_coordinator
    # the welcome: a partner is shown the menu with "A worry or a problem", not the offer flow
    welcome = [m for m in chat.history["apotheek"] if "Lotte" in m["text"]][-1]
    assert str(T("Welcome, {name}! You are now a partner of {neighbourhood}. When you are worried about someone, or "
                 "someone agrees to be contacted, choose “A worry or a problem”.", "nl", name="Lotte",
                 neighbourhood="Demo")) == welcome["text"]
    assert "case:new" in [o["payload"] for o in welcome["options"]]
    # a key figure is welcomed as a key figure (personne-relais), not as a partner
    welcome = [m for m in chat.history["pharmacie"] if "Chloé" in m["text"]][-1]
    assert str(T("Welcome, {name}! You are now a key figure of {neighbourhood}: thank you for being the link with "
                 "the people around you. When you are worried about someone, or someone agrees to be contacted, "
                 "choose “A worry or a problem”.", "fr", name="Chloé", neighbourhood="Demo")) == welcome["text"]
    assert "partenaire" not in welcome["text"] and "case:new" in [o["payload"] for o in welcome["options"]]


def test_coordinator_invites_a_partner_from_the_chat(chat):
    play(chat, invited("kees", "Kees", "nl", "coordinator") + [
        Row("kees", payload="coord", reply=has(options=("case:list", "coord:invite"))),
        Row("kees", payload="coord:invite", reply=has(options=("coord:invite:partner", "coord:invite:keyfigure"))),
        Row("kees", payload="coord:invite:partner", reply=has(T("partner", "nl"))),
    ])
    with chat.sessions() as s:
        from models.people import Invite
        invite = s.scalar(select(Invite).order_by(Invite.id.desc()).limit(1))
        assert invite.role == "partner" and invite.created_by_id == pid(s, "kees")


def test_the_pharmacists_worry_goes_to_this_neighbourhoods_coordinators_only_and_is_closed_nl(chat):
    v = setup(chat)
    play(chat, [
        # FIELD-NOTES A5, typed as it comes: read as a worry, a case; the partner is thanked, no details back
        Do(lambda s, v: setattr(person(s, "apotheek"), "phone", "+3225551234")),
        Row("apotheek", PHARMACIST, keep=last_case,
            reply=has(T(THANKS, "nl", contact="Fatima"), lacks=("#",)),
            told={"kees": has("Meneer M.", T("Phone of {name}: {phone}", "nl", name="Lotte", phone="+3225551234"),
                              options=(CASE("take"), "case:list")),
                  "sophie": has("Meneer M.", options=(CASE("take"),)),
                  "coordinator": has("Meneer M.")},
            silent=("els", "ahmed", "maria", "rosa"),
            db=case_is(kind="concern", status="open", reporter_id=by("apotheek"), text=PHARMACIST)),
        # the list, in Kees's Dutch
        Row("kees", payload="case:list", reply=has(T("Open cases (worries, referrals, problems):", "nl"),
                                                   "Meneer M.", options=(CASE("show"),))),
        # a coordinator of another neighbourhood, a volunteer and the partner herself are refused, nothing changes
        Do(remember),
        Row("els", payload=CASE("take"), reply=has(T("Sorry, only coordinators of this neighbourhood can do that.",
                                                     "nl")), db=no_change),
        Row("ahmed", payload=CASE("close"), reply=has(T("Sorry, only coordinators of this neighbourhood can do that.",
                                                        "nl")), db=no_change),
        Row("apotheek", payload=CASE("show"), reply=has(lacks=("Meneer",)), db=no_change),
        Row("ahmed", payload="case:list", reply=has(T("Sorry, only coordinators can do that.", "nl")), db=no_change),
        # Kees takes it; the others are told who did; the partner hears nothing
        Row("kees", payload=CASE("take"),
            reply=has(lambda v: str(T("Thank you, you take care of case #{id}. How will you follow it up?", "nl",
                                      id=v["case"])), options=(CASE("do:visit"), CASE("close"))),
            told={"sophie": has(lambda v: str(T("{coordinator} takes care of case #{id}.", "fr", coordinator="Kees",
                                                id=v["case"])))},
            silent=("apotheek", "els"), db=case_is(status="taken", assignee_id=by("kees"))),
        Row("sophie", payload=CASE("take"),
            reply=has(T("{coordinator} already takes care of this.", "fr", coordinator="Kees")),
            db=case_is(assignee_id=by("kees"))),
        Row("kees", payload=CASE("do:visit"), reply=has(T("a visit", "nl")), db=case_is(action="visit")),
        Row("kees", payload=CASE("close"), reply=has(lambda v: str(T(
            "How did case #{id} end? Type a short outcome, for example “visited, all is well” or “referred to the "
            "CAW, appointment on Tuesday”.", "nl", id=v["case"])))),
        Row("kees", "Bezocht: hij was ziek, zijn dochter haalt nu de medicatie.",
            reply=has("Bezocht", options=("case:list",)), silent=("apotheek", "sophie"),
            db=case_is(status="closed", outcome="Bezocht: hij was ziek, zijn dochter haalt nu de medicatie.",
                       closed_by_id=by("kees"))),
        Row("kees", payload="case:list", reply=has(T("No open cases: no worries, referrals or problems wait for you.",
                                                     "nl"))),
        # closed stays closed
        Row("sophie", payload=CASE("close"), reply=has(T("This case is already closed.", "fr")),
            db=case_is(outcome="Bezocht: hij was ziek, zijn dochter haalt nu de medicatie.")),
        # what the partner sees of it in /mydata: what she said, never what was done
        Row("apotheek", "/mydata", reply=has("Meneer M.", lacks=("Bezocht", "Kees"))),
    ], v)


def test_a_worry_from_the_menu_and_by_command_fr(chat):
    v = setup(chat)
    play(chat, [
        Row("rosa", payload="case:new", reply=has(options=("case:new:worried", "case:new:problem"),
                                                  no_options=("case:new:refer",))),
        Row("rosa", payload="case:new:worried", reply=has(T(
            "What worries you? Tell me in a few words who it is about and what you noticed. Only {contact} will read "
            "it. If someone is in danger, call 112.", "fr", contact="Fatima"))),
        Row("rosa", NEIGHBOUR_FR, keep=last_case, reply=has(T(THANKS, "fr", contact="Fatima")),
            told={"sophie": has(NEIGHBOUR_FR, "Rosa"), "kees": has(NEIGHBOUR_FR)},
            silent=("els", "ahmed", "apotheek"),
            db=case_is(kind="concern", reporter_id=by("rosa"), text=NEIGHBOUR_FR)),
        # /inquiet with the worry on the same line
        Row("rosa", "/inquiet Monsieur Dubois ne répond plus au téléphone.", keep=last_case,
            reply=has(T(THANKS, "fr", contact="Fatima")), told={"sophie": has("Monsieur Dubois")},
            db=case_is(kind="concern", text="Monsieur Dubois ne répond plus au téléphone.")),
        # Sophie turns it into a call and closes it, in French
        Row("sophie", payload=CASE("do:call"), reply=has(T("a call", "fr")),
            db=case_is(action="call", status="taken", assignee_id=by("sophie"))),
        Row("sophie", payload=CASE("close")),
        # an outcome without words is asked again, nothing closed
        Row("sophie", "...", reply=has(lambda v: str(T(
            "How did case #{id} end? Type a short outcome, for example “visited, all is well” or “referred to the "
            "CAW, appointment on Tuesday”.", "fr", id=v["case"]))), db=case_is(status="taken")),
        Row("sophie", "Appelé : il allait bien, son téléphone était cassé.", silent=("rosa",),
            db=case_is(status="closed", outcome="Appelé : il allait bien, son téléphone était cassé.")),
        # the first worry is still on the list, with who raised it
        Row("sophie", payload="case:list", reply=has("Rosa", "volets")),
    ], v)
    with chat.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Case).where(Case.status == "closed")) == 1


def test_a_street_problem_is_passed_on_to_the_commune_nl(chat):
    v = setup(chat)
    play(chat, [
        Row("maria", "/probleem", reply=has(T(
            "What is the problem, and where? For example: “The street light at the little square is broken.”", "nl"))),
        Row("maria", "", reply=has(T(
            "What is the problem, and where? For example: “The street light at the little square is broken.”", "nl"))),
        Row("maria", STREET_LIGHT, keep=last_case,
            reply=has(T("Thank you! I passed this on to {contact}, who can report it to the commune.", "nl",
                        contact="Fatima")),
            told={"kees": has("straatlamp", "Maria")}, silent=("ahmed", "els"),
            db=case_is(kind="problem", status="open", reporter_id=by("maria"))),
        Row("kees", payload=CASE("show"), reply=has("straatlamp", options=(CASE("commune"), CASE("close")),
                                                    no_options=(CASE("do:visit"),))),
        Row("kees", payload=CASE("commune"), silent=("maria",),
            db=case_is(status="closed", outcome=lambda s, v: str(T("Passed on to the commune", "nl")))),
    ], v)


def test_a_key_figure_refers_someone_with_consent_fr(chat):
    v = setup(chat)
    now = utcnow()
    play(chat, [
        Row("pharmacie", payload="case:new", reply=has(options=("case:new:refer",))),
        Row("pharmacie", payload="case:new:refer"),
        Row("pharmacie", "Jeanne"),
        Row("pharmacie", "pas de numéro", reply=has(T(
            "That does not look like a phone number. Type it like 0470 12 34 56.", "fr"))),
        Row("pharmacie", "0470 12 34 56"),
        Row("pharmacie", "Elle cherche de l'aide pour ses papiers de la mutuelle."),
        Row("pharmacie", "   ", reply=has(T("How did {name} agree to be contacted? For example: “she agrees that "
                                            "you call her, said at the counter on Monday”.", "fr", name="Jeanne"))),
        Row("pharmacie", "Elle est d'accord qu'on l'appelle, dit au comptoir lundi.", keep=last_case,
            reply=has(T("Thank you. {contact} will contact {name}. To protect {name}'s privacy you will not hear here "
                        "how it goes.", "fr", contact="Fatima", name="Jeanne")),
            told={"sophie": has("Jeanne", "+32470123456", "mutuelle", "comptoir", options=(CASE("take"),)),
                  "kees": has("Jeanne")},
            silent=("els", "ahmed"),
            db=case_is(kind="referral", about_name="Jeanne", about_phone="+32470123456", status="open",
                       consent="Elle est d'accord qu'on l'appelle, dit au comptoir lundi.",
                       reporter_id=by("pharmacie"))),
        # a resident cannot refer: refused, nothing opened
        Row("rosa", payload="case:new:refer",
            reply=has(T("Sorry, only partners, key figures and coordinators can refer someone.", "fr")),
            db=lambda s, v: (s.scalar(select(func.count()).select_from(Case)) == 1) or pytest.fail("a case opened")),
    ], v)
    with chat.sessions() as s:
        case = s.get(Case, v["case"])
        assert abs(case.remind_at - (now + timedelta(days=REFERRAL_REMIND_DAYS))) < timedelta(minutes=5)


def day(lang, when) -> str:
    with speaking(lang):
        return format_day(when)


def _social_map_referral(s, v):
    """What the social map's warm hand-off writes (helper "socialmap")."""
    nb = neighbourhood_by_slug(s, "demo")
    service = Service(neighbourhood_id=nb.id, key="caw-brussel", name_nl="CAW Brussel", name_fr="CAW Bruxelles",
                      category="social_work", languages=["nl", "fr"], hours={}, phone="+3222110100")
    s.add(service)
    s.flush()
    v["case"] = open_case(s, "referral", nb.id, text="Schulden, brieven van de deurwaarder",
                          reporter_id=pid(s, "maria"), person_id=pid(s, "maria"), category="social_work",
                          service_id=service.id, remind_at=referral_remind_at(MONDAY)).id
    v["created"] = s.get(Case, v["case"]).created_at


def test_a_social_map_referral_is_listed_with_its_service_and_closed(chat):
    v = setup(chat, Do(_social_map_referral))
    play(chat, [
        Row("kees", payload="case:list", reply=has("CAW Brussel", "Maria", "deurwaarder", options=(CASE("show"),))),
        Row("sophie", payload=CASE("show"), reply=has("CAW Bruxelles", options=(CASE("close"),))),
        Row("sophie", payload=CASE("close")),
        Row("sophie", "Orientée vers le CAW, rendez-vous mardi.", silent=("maria",),
            db=case_is(status="closed", remind_at=None, outcome="Orientée vers le CAW, rendez-vous mardi.")),
    ], v)


def test_open_referrals_are_reminded_after_the_days_once_per_period(chat):
    v = setup(chat, Do(_social_map_referral))
    assert "cases" in SWEEPS
    due = MONDAY + timedelta(days=REFERRAL_REMIND_DAYS)
    with chat.sessions() as s, s.begin():
        assert sweep_cases(s, due - timedelta(minutes=1)) == 0  # not yet
    assert not chat.new("kees")
    with chat.sessions() as s, s.begin():
        assert sweep_cases(s, due) == 1
    reminder = chat.new("kees")
    assert len(reminder) == 1 and "CAW Brussel" in reminder[0]["text"]
    assert str(T("A referral made on {date} has no outcome yet (case #{id}). Has it been followed up?", "nl",
                 date=day("nl", v["created"]), id=v["case"])) in reminder[0]["text"]
    assert f"case:close:{v['case']}" in [o["payload"] for o in reminder[0]["options"]]
    assert chat.new("sophie") and not chat.new("els") and not chat.new("maria")
    with chat.sessions() as s, s.begin():
        assert sweep_cases(s, due + timedelta(minutes=5)) == 0  # the next one in REFERRAL_REMIND_DAYS
        case = s.get(Case, v["case"])
        assert case.reminded == 1 and case.remind_at == due + timedelta(days=REFERRAL_REMIND_DAYS)
    assert not chat.new("kees")
    # at night it waits for the coordinators' quiet hours to end
    night = datetime(2026, 12, 21, 23, 0, tzinfo=TZ).astimezone(timezone.utc)
    with chat.sessions() as s, s.begin():
        assert sweep_cases(s, night) == 1
        assert s.get(Case, v["case"]).remind_at == datetime(2026, 12, 22, 8, 0, tzinfo=TZ)
    assert not chat.new("kees")
    # a closed referral is never reminded
    play(chat, [Row("kees", payload=CASE("close")), Row("kees", "Doorverwezen naar het CAW.")], v)
    with chat.sessions() as s, s.begin():
        assert sweep_cases(s, night + timedelta(days=30)) == 0


def test_erasure_and_mydata(chat):
    v = setup(chat, Do(_social_map_referral))
    play(chat, [
        Row("maria", "/mijngegevens", reply=has(lambda v: str(T(
            "Your coordinators follow up {kind} about you, since {date}.", "nl", kind=str(T("a referral", "nl")),
            date=day("nl", v["created"]))), lacks=("CAW",))),
        Row("apotheek", PHARMACIST, keep=last_case),
    ], v)
    with chat.sessions() as s, s.begin():
        erase(s, person(s, "maria"))
    with chat.sessions() as s, s.begin():
        assert s.scalar(select(func.count()).select_from(Case).where(Case.service_id.is_not(None))) == 0
        erase(s, person(s, "apotheek"))
    with chat.sessions() as s:
        case = s.get(Case, v["case"])
        assert case is not None and case.reporter_id is None and case.kind == "concern"


# ---- Telegram --------------------------------------------------------------------------------

@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _invite(rt, role: str) -> str:
    with rt.sessions() as s, s.begin():
        return create_invite(s, neighbourhood_by_slug(s, "demo"), role).code


@pytest.mark.parametrize("lang, coordinator, reporter, worry, outcome", [
    ("nl", "Kees", "Lotte", PHARMACIST, "Bezocht, alles goed."),
    ("fr", "Sophie", "Rosa", NEIGHBOUR_FR, "Visite faite, tout va bien."),
])
async def test_a_worry_on_telegram_taken_and_closed(telegram_fake, db_url, lang, coordinator, reporter,  # noqa: F811
                                                    worry, outcome):
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    gettext = catalog(lang).gettext
    async with running(rt):
        code = _invite(rt, "coordinator")
        await people.say(coordinator, f"/start {code}", lang)
        await people.press(coordinator, f"lang:{lang}")
        await people.press(coordinator, "yes")
        await people.say(coordinator, coordinator, lang)
        if lang == "nl":  # the pharmacist, a partner, types her worry
            code = _invite(rt, "partner")
            await people.say(reporter, f"/start {code}", lang)
            await people.press(reporter, f"lang:{lang}")
            await people.press(reporter, "yes")
            await people.say(reporter, reporter, lang)
            got = await people.say(reporter, worry, lang)
        else:  # a resident, through the menu
            await join(people, reporter, lang)
            await people.say(reporter, "/menu", lang)
            await people.press(reporter, "case:new")
            await people.press(reporter, "case:new:worried")
            got = await people.say(reporter, worry, lang)
        assert got[-1]["text"] == gettext(THANKS).format(contact="Fatima")
        seen_by_reporter = len(people.sent_to(reporter))
        await people.await_button(coordinator, "case:take:")
        assert worry in people.last(coordinator)["text"]
        got = await people.press(coordinator, "case:take:")
        case_id = int(people.button(coordinator, "case:close:")[1].rsplit(":", 1)[1])
        await people.press(coordinator, "case:do:visit:")
        await people.press(coordinator, "case:close:")
        await people.say(coordinator, outcome, lang)
        assert people.last(coordinator)["text"] == gettext("Case #{id} is closed: {outcome}. Thank you!").format(
            id=case_id, outcome=outcome)
        with rt.sessions() as s:
            case = s.get(Case, case_id)
            assert (case.kind, case.status, case.action, case.outcome) == ("concern", "closed", "visit", outcome)
        assert len(people.sent_to(reporter)) == seen_by_reporter  # the reporter hears nothing of it
        assert telegram_fake.unanswered_callback_queries() == []


# ---- one coordinator takes a case, however many press at once ---------------------------------

@pytest.fixture
def threads(sessions):
    per_thread = OnePerThread(sessions)
    yield per_thread
    for engine in per_thread.engines:
        engine.dispose()


def test_six_coordinators_take_one_case_at_once(sessions, threads):
    coordinators = [f"co{i}" for i in range(6)]
    with sessions() as session, session.begin():
        nb = seed(session)
        maria = add_person(session, nb, "maria", "Maria")
        for i, who in enumerate(coordinators):
            add_person(session, nb, who, f"Co{i}").is_coordinator = True
        case_id = open_case(session, "concern", nb.id, text=PHARMACIST, reporter_id=maria.id).id
    results = run_together(6, lambda i: threads.handle(Inbound(
        CHANNEL, coordinators[i], payload=f"case:take:{case_id}", platform_message_id=f"take-{i}")))
    assert results == ["ok"] * 6
    with sessions() as session:
        case = session.get(Case, case_id)
        assert case.status == "taken"
        taker = case.assignee.first_name
        texts = {who: [o.text for o in session.scalars(select(Outbox).where(Outbox.address == who)
                                                        .order_by(Outbox.id))] for who in coordinators}
    winners = [who for who, got in texts.items() if any(t.startswith("Thank you, you take care of case") for t in got)]
    assert winners == [f"co{taker[2:]}"]
    for who in coordinators:
        if who != winners[0]:
            assert any(f"{taker} takes care of case #{case_id}" in t or f"{taker} already takes care of this" in t
                       for t in texts[who]), texts[who]


def test_a_street_problem_in_free_text_is_a_case_and_a_kitchen_lamp_is_not(chat):
    """FIELD-NOTES B12 as typed: a problem for the commune (nl, fr); B3, a broken lamp at home, stays a small job."""
    v = setup(chat)
    play(chat, [
        Row("maria", STREET_LIGHT, keep=last_case,
            reply=has(T("Thank you! I passed this on to {contact}, who can report it to the commune.", "nl",
                        contact="Fatima")),
            told={"kees": has("straatlamp")}, silent=("ahmed",), db=case_is(kind="problem", text=STREET_LIGHT)),
        Row("rosa", "Le lampadaire de la petite place est en panne depuis deux semaines.", keep=last_case,
            reply=has(T("Thank you! I passed this on to {contact}, who can report it to the commune.", "fr",
                        contact="Fatima")),
            told={"sophie": has("lampadaire")}, silent=("ahmed",), db=case_is(kind="problem")),
        Row("maria", "/menu"),
        Row("maria", "De lamp in mijn keuken is kapot en ik kan niet meer op een ladder. Wie kan even helpen?",
            silent=("kees", "sophie"),
            db=lambda s, v: s.scalar(select(func.count()).select_from(Case)) == 2 or pytest.fail("a case opened")),
    ], v)


async def _joined_by_invite(people, rt, name: str, lang: str, role: str) -> None:
    code = _invite(rt, role)
    await people.say(name, f"/start {code}", lang)
    await people.press(name, f"lang:{lang}")
    await people.press(name, "yes")
    await people.say(name, name, lang)


async def test_a_street_problem_on_telegram_passed_on_to_the_commune_nl(telegram_fake, db_url):  # noqa: F811
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    gettext = catalog("nl").gettext
    async with running(rt):
        await _joined_by_invite(people, rt, "Kees", "nl", "coordinator")
        await _joined_by_invite(people, rt, "Lotte", "nl", "partner")
        got = await people.say("Lotte", STREET_LIGHT)
        assert got[-1]["text"] == gettext("Thank you! I passed this on to {contact}, who can report it to the "
                                          "commune.").format(contact="Fatima")
        seen = len(people.sent_to("Lotte"))
        await people.await_button("Kees", "case:take:")
        assert STREET_LIGHT in people.last("Kees")["text"]
        await people.say("Kees", "/menu")
        await people.press("Kees", "coord")
        await people.press("Kees", "case:list")
        await people.press("Kees", "case:show:")
        got = await people.press("Kees", "case:commune:")
        with rt.sessions() as s:
            case = s.scalar(select(Case))
            assert (case.kind, case.status, case.outcome) == ("problem", "closed", gettext("Passed on to the commune"))
        assert got[-1]["text"] == gettext("Case #{id} is closed: {outcome}. Thank you!").format(
            id=case.id, outcome=gettext("Passed on to the commune"))
        assert len(people.sent_to("Lotte")) == seen
        assert telegram_fake.unanswered_callback_queries() == []


async def test_a_key_figure_refers_someone_on_telegram_fr(telegram_fake, db_url):  # noqa: F811
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    gettext = catalog("fr").gettext
    async with running(rt):
        await _joined_by_invite(people, rt, "Sophie", "fr", "coordinator")
        await _joined_by_invite(people, rt, "Chloé", "fr", "keyfigure")
        await people.press("Chloé", "case:new")
        await people.press("Chloé", "case:new:refer")
        await people.say("Chloé", "Jeanne", "fr")
        await people.say("Chloé", "0470 12 34 56", "fr")
        await people.say("Chloé", "Elle cherche de l'aide pour ses papiers de la mutuelle.", "fr")
        got = await people.say("Chloé", "Elle est d'accord qu'on l'appelle, dit au comptoir lundi.", "fr")
        assert got[-1]["text"] == gettext("Thank you. {contact} will contact {name}. To protect {name}'s privacy you "
                                          "will not hear here how it goes.").format(contact="Fatima", name="Jeanne")
        seen = len(people.sent_to("Chloé"))
        await people.await_button("Sophie", "case:take:")
        told = people.last("Sophie")["text"]
        assert "Jeanne" in told and "+32470123456" in told and "comptoir" in told
        await people.press("Sophie", "case:take:")
        await people.press("Sophie", "case:do:call:")
        await people.press("Sophie", "case:close:")
        await people.say("Sophie", "Appelée, orientée vers la mutualité, rendez-vous jeudi.", "fr")
        with rt.sessions() as s:
            case = s.scalar(select(Case))
            assert (case.kind, case.status, case.action, case.about_name) == ("referral", "closed", "call", "Jeanne")
            assert case.outcome == "Appelée, orientée vers la mutualité, rendez-vous jeudi."
        assert len(people.sent_to("Chloé")) == seen
        assert telegram_fake.unanswered_callback_queries() == []


def test_the_only_coordinator_raising_a_problem_finds_it_on_their_list(chat):
    """The seeded Fatima is the demo's only coordinator: no "no coordinator yet", the case is on her list."""
    v = play(chat, [
        Row("coordinator", "/problem The street light at the little square is broken.", keep=last_case,
            reply=has(T("Thank you! I passed this on to {contact}, who can report it to the commune.", "en",
                        contact="Fatima")), db=case_is(kind="problem")),
        Row("coordinator", payload="case:list", reply=has("street light", options=(CASE("show"),))),
    ])
    assert v["case"]


# ---- the follow-up belongs to whoever took the case ---------------------------------------------

def test_only_the_coordinator_who_took_a_case_sets_its_follow_up(chat):
    v = setup(chat)
    refused_nl = lambda who: has(T("{coordinator} already takes care of this.", "nl", coordinator=who))  # noqa: E731
    play(chat, [
        Row("apotheek", PHARMACIST, keep=last_case),
        Row("sophie", payload=CASE("take"), db=case_is(status="taken", assignee_id=by("sophie"))),
        Do(remember),
        # Kees still has the buttons of the first message: his choice does not overwrite Sophie's case
        Row("kees", payload=CASE("do:visit"), reply=refused_nl("Sophie"), db=no_change),
        Row("sophie", payload=CASE("do:call"), reply=has(T("a call", "fr")),
            db=case_is(action="call", assignee_id=by("sophie"))),
        Row("kees", payload=CASE("do:none"), reply=refused_nl("Sophie"), db=case_is(action="call")),
        # a case nobody took: the first to choose a follow-up takes it; the second is told who has it
        Row("rosa", NEIGHBOUR_FR, keep=last_case),
        Row("kees", payload=CASE("do:visit"), reply=has(T("a visit", "nl")),
            db=case_is(status="taken", action="visit", assignee_id=by("kees"))),
        Do(lambda s, v: s.get(Case, v["case"]).taken_at is not None or pytest.fail("taken_at not set")),
        Row("sophie", payload=CASE("do:referral"),
            reply=has(T("{coordinator} already takes care of this.", "fr", coordinator="Kees")),
            db=case_is(action="visit", assignee_id=by("kees"))),
    ], v)


def test_two_coordinators_choose_a_follow_up_at_once_one_has_the_case(sessions, threads):
    with sessions() as session, session.begin():
        nb = seed(session)
        maria = add_person(session, nb, "maria", "Maria")
        add_person(session, nb, "co0", "Co0").is_coordinator = True
        add_person(session, nb, "co1", "Co1").is_coordinator = True
        case_id = open_case(session, "concern", nb.id, text=PHARMACIST, reporter_id=maria.id).id
    actions = ("visit", "call")
    results = run_together(2, lambda i: threads.handle(Inbound(
        CHANNEL, f"co{i}", payload=f"case:do:{actions[i]}:{case_id}", platform_message_id=f"do-{i}")))
    assert results == ["ok"] * 2
    with sessions() as session:
        case = session.get(Case, case_id)
        winner = int(case.assignee.first_name[2:])
        assert (case.status, case.action) == ("taken", actions[winner])
        texts = {i: [o.text for o in session.scalars(select(Outbox).where(Outbox.address == f"co{i}"))]
                 for i in range(2)}
    assert any(t.startswith("Noted: ") for t in texts[winner])
    assert not any(t.startswith("Noted: ") for t in texts[1 - winner]), texts[1 - winner]
    assert any(f"Co{winner} already takes care of this." in t for t in texts[1 - winner])
