"""The social map in the chat, on the demo channel (SQLite and PostgreSQL), with what people
actually write (shared/FIELD-NOTES.md): the carer asking for mantelzorg support (A11), "À qui je
peux m'adresser ?" (A12), the physiotherapist asking about social transport (A15). The directory
answers (name in the person's language, open now, languages, phone, address, walk-in or
appointment); the person chooses: the coordinator's warm hand-off (a referral case, reminded
after REFERRAL_REMIND_DAYS) or the volunteers -- nothing is diverted."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from handlers.directory_file import checked, import_services, read_entries
from handlers.cases import REFERRAL_REMIND_DAYS
from models import HelpRequest
from models.base import utcnow
from models.cases import Case
from models.directory import Service
from models.network import add_neighbourhood, neighbourhood_by_slug
from tests.flowkit import Do, Row, T, dispatcher, has, last_request, pid, play, resident, volunteer  # noqa: F401

DIRECTORY = Path(__file__).parent / "testdata" / "directory" / "demo.yaml"
A11 = ("Mijn moeder heeft dementie en ik val er bijna door. Bestaat er een vorming of steun voor mantelzorgers in de "
       "buurt?")
A12 = ("Mon voisin met toujours ses sacs poubelle devant ma porte, et je dois aussi remplir ma déclaration d'impôts. "
       "À qui je peux m'adresser ?")
A15 = ("Ik ben kinesiste in Jette. Welk sociaal vervoer bestaat er om een patiënt met een rolstoel tot bij mij te "
       "krijgen?")
ASK_PRO = ("Shall I send this to the volunteers of your neighbourhood, or would you rather talk to {contact} about it "
           "first? For some things professionals can help too: the OCMW/CPAS, the CAW, your mutualiteit or the local "
           "service centre.")
HANDED_OFF = ("Thank you. I have asked {contact} to help you make the contact. They will get in touch with you.")
OPEN_ALL_DAY = "Open now, until {time}."


def load_directory(session, v) -> None:
    nb = neighbourhood_by_slug(session, "demo")
    import_services(session, nb.id, checked(read_entries(DIRECTORY)))
    v["svc"] = {s.key: s.id for s in session.scalars(select(Service))}


def cases(session) -> list[Case]:
    return list(session.scalars(select(Case).order_by(Case.id)))


def referral_for(who: str, service_key: str | None, with_request: bool):
    def check(s, v):
        found = cases(s)
        assert len(found) == 1, found
        case = found[0]
        assert case.kind == "referral" and case.status == "open" and case.person_id == pid(s, who)
        assert case.reporter_id == pid(s, who)
        assert case.service_id == (v["svc"][service_key] if service_key else None)
        expected = utcnow() + timedelta(days=REFERRAL_REMIND_DAYS)
        assert abs(case.remind_at - expected) < timedelta(minutes=5)
        if with_request:
            req = last_request(s)
            assert case.request_id == req.id and req.status == "referred"
    return check


def no_case(s, v):
    assert cases(s) == []


def test_a_carer_asking_for_mantelzorg_support_sees_the_map_and_chooses_the_warm_hand_off(chat):
    """A11 (nl): the professional path shows the carers' service, open now, and the person's choice."""
    play(chat, resident("buur", "Buur", "nl") + volunteer("helper", "Helper", "nl") + [
        Do(load_directory),
        Row("buur", A11, reply=has(T(ASK_PRO, "nl", contact="Fatima"), T("Where you can go:", "nl"),
                                   "Mantelzorgpunt Demo", T(OPEN_ALL_DAY, "nl", time="00:00"),
                                   T("Phone: {phone}", "nl", phone="02 555 01 01"),
                                   T("Address: {address}", "nl", address="Kerkstraat 1, 1040 Etterbeek"),
                                   T("Walk in, no appointment needed.", "nl"),
                                   options=("pro:volunteers", "pro:contact")),
            silent=("helper", "coordinator"), db=lambda s, v: last_request(s) is None or pytest.fail("posted")),
        Row("buur", "2", reply=has(options=("human", "menu")),
            told={"coordinator": has(A11[:50], lambda v: str(T(
                "Referral #{id}: close it with its outcome once they are helped.", "en", id=1)),
                lambda v: str(T("The social map suggests: {services}", "en", services="Mantelzorgpunt Demo")))},
            silent=("helper",), db=referral_for("buur", "mantelzorgpunt", with_request=True)),
    ])


def test_a_qui_je_peux_m_adresser_shows_the_french_names_and_the_volunteers_stay_a_choice(chat):
    """A12 (fr): the tax desk in French; choosing the volunteers goes the usual way, with no referral."""
    play(chat, resident("voisine", "Aïcha", "fr") + volunteer("helper", "Helper", "fr") + [
        Do(load_directory),
        Row("voisine", A12, reply=has(T(ASK_PRO, "fr", contact="Fatima"), "Permanence impôts Demo",
                                      T("Walk in, or make an appointment.", "fr"),
                                      T("Phone: {phone}", "fr", phone="02 555 02 02"),
                                      lacks=("Belastingpermanentie",), options=("pro:volunteers", "pro:contact")),
            silent=("helper", "coordinator")),
        Row("voisine", "1", reply=has(options=("when:week",)), silent=("helper", "coordinator"), db=no_case),
    ])


def test_the_physiotherapist_asking_about_social_transport_gets_the_map_and_a_hand_off(chat):
    """A15 (nl): a question in words, answered from the map; the hand-off opens one referral."""
    play(chat, resident("kine", "Lotte", "nl") + volunteer("helper", "Helper", "nl") + [
        Do(load_directory),
        Row("kine", "/menu"),  # out of the first request's question, as a partner would be
        Row("kine", A15, reply=has(T("Where you can go:", "nl"), "Sociaal vervoer Demo",
                                   T("Phone: {phone}", "nl", phone="02 555 03 03"),
                                   T("By appointment: call first.", "nl"),
                                   T("Would you like {contact} to help you make the contact?", "nl", contact="Fatima"),
                                   lacks=(T(OPEN_ALL_DAY, "nl", time="00:00"), "Transport social Demo"),
                                   options=(lambda v: f"svc:go:{v['svc']['vervoer']}", "svc:ask", "menu")),
            silent=("helper", "coordinator"), db=no_case),
        Row("kine", payload=lambda v: f"svc:go:{v['svc']['vervoer']}",
            reply=has(T(HANDED_OFF, "nl", contact="Fatima"), options=("ask",)),
            told={"coordinator": has("Sociaal vervoer Demo", A15[:40], options=("alert:take:",))},
            silent=("helper",), db=referral_for("kine", "vervoer", with_request=False)),
        # Pressed again (or typed again later): the coordinator already knows; no second case.
        Row("kine", payload=lambda v: f"svc:go:{v['svc']['vervoer']}",
            reply=has(T("{contact} already knows; they will get in touch with you.", "nl", contact="Fatima")),
            silent=("coordinator",), db=lambda s, v: len(cases(s)) == 1 or pytest.fail("a second case")),
    ])


def test_services_command_in_french_by_category_by_words_and_then_the_volunteers(chat):
    play(chat, resident("marie", "Marie", "fr") + [
        Do(load_directory),
        Row("marie", "/services", reply=has(T("What are you looking for? Choose, or say it in a few words.", "fr"),
                                            options=("svc:cat:carers", "svc:cat:admin_help", "svc:cat:transport",
                                                     "menu"))),
        Row("marie", "le jardin", reply=has(T("I did not find a service for that. Choose one of these, or choose "
                                              "“Talk to a person”.", "fr"), options=("svc:cat:carers", "human"))),
        Row("marie", payload="svc:cat:carers", reply=has("Point aidants proches Demo", T(OPEN_ALL_DAY, "fr",
                                                                                           time="00:00"),
                                                         options=(lambda v: f"svc:go:{v['svc']['mantelzorgpunt']}",),
                                                         no_options=("svc:ask",))),
        Row("marie", "/services"),
        Row("marie", "un transport adapté pour mon fauteuil roulant",
            reply=has("Transport social Demo", options=("svc:ask",)), db=no_case),
        Row("marie", payload="svc:ask", reply=has(options=("cat:shopping", "cat:lift")), silent=("coordinator",),
            db=lambda s, v: last_request(s) is None or pytest.fail("posted before the person confirmed")),
    ])


def test_the_menu_offers_the_map_and_a_neighbourhood_without_one_says_so(chat):
    play(chat, resident("buur", "Buur", "nl") + [
        Row("buur", "/menu", reply=has(options=("svc",))),
        Row("buur", payload="svc", reply=has(T("Your neighbourhood has no list of services yet. {contact} can help "
                                               "you find the right place.", "nl", contact="Fatima"),
                                             options=("human",))),
    ])


def test_a_request_that_names_a_wheelchair_is_still_a_request(chat):
    """Asking someone for a lift is no question about services: never diverted to the map."""
    play(chat, resident("buur", "Buur", "nl") + [
        Do(load_directory),
        Row("buur", "/menu"),
        Row("buur", "Kan iemand mij donderdag met de rolstoel naar de dokter brengen?",
            reply=has(options=("yes", "no"), lacks=(T("Where you can go:", "nl"),), no_options=("svc:go:",))),
    ])


def test_another_neighbourhoods_service_cannot_be_handed_off(chat):
    def other(s, v):
        add_neighbourhood(s, "Elders", "elders", ["1000"], default_language="nl", contact_name="Jan")

    play(chat, [Do(other), Do(load_directory)] + resident("ver", "Ver", "nl", postcode="1000") + [
        Row("ver", payload=lambda v: f"svc:go:{v['svc']['vervoer']}",
            reply=has(T("This button is no longer valid.", "nl")), silent=("coordinator",), db=no_case),
    ])


def test_a_typed_message_after_the_answer_is_read_as_at_the_menu(chat):
    """The answer's screen holds no one: words that name no service go wherever they would have gone."""
    play(chat, resident("buur", "Buur", "nl") + [
        Do(load_directory),
        Row("buur", "/menu"),
        Row("buur", A15, reply=has("Sociaal vervoer Demo")),
        Row("buur", "En voor mantelzorg?", reply=has("Mantelzorgpunt Demo", options=("svc:ask",))),
        Row("buur", "Kan iemand mij morgen naar de dokter brengen?", reply=has(options=("yes", "no"),
                                                                             no_options=("svc:ask",))),
        Row("buur", "/menu"),
        Row("buur", A15, reply=has("Sociaal vervoer Demo")),
        Row("buur", "Kan iemand morgen boodschappen doen?", reply=has(options=("yes", "no"))),
        Row("buur", "/menu", db=lambda s, v: s.scalar(select(func.count()).select_from(HelpRequest)) == 0
            or pytest.fail("posted")),
    ])


@pytest.mark.parametrize("text, where", [
    (A15, True), ("Waar kan ik terecht voor juridisch advies?", True), ("Où trouver une aide juridique ?", True),
    ("Who can I contact about my taxes?", True),
    ("Bestaat er iemand die mij naar de dokter kan brengen?", False),  # a neighbour is asked
    ("Y a-t-il quelqu'un pour m'emmener chez le médecin ?", False),
    ("Waar kan ik terecht?", False),  # no kind of service named: the usual way
    ("Ik heb een rolstoel.", False),  # names one, asks nothing
])
def test_which_words_ask_where_to_go(text, where):
    from handlers.socialmap import asks_where

    assert asks_where(text) is where


def test_a_professional_need_the_map_does_not_cover_is_still_a_referral_case(chat):
    """A10 (fr, the bathtub): no housing service on the map -- the generic answer, and the case names the kind."""
    def housing_case(s, v):
        [case] = cases(s)
        assert case.kind == "referral" and case.category == "housing" and case.service_id is None
        assert case.request_id == last_request(s).id and case.text.startswith("Je n'arrive plus")

    text = "Je n'arrive plus à entrer dans ma baignoire. Qui peut m'aider ?"
    play(chat, resident("buur", "Buur", "fr") + [
        Do(load_directory),
        Row("buur", text, reply=has(T(ASK_PRO, "fr", contact="Fatima"), lacks=(T("Where you can go:", "fr"),),
                                    options=("pro:contact",)), db=no_case),
        Row("buur", payload="pro:contact", told={"coordinator": has("baignoire", lambda v: str(T(
            "Referral #{id}: close it with its outcome once they are helped.", "en", id=1)))}, db=housing_case),
    ])


def test_a_long_service_name_is_cut_at_a_word_on_its_button():
    from handlers.socialmap import short

    assert short("Sociaal vervoer Demo") == "Sociaal vervoer Demo"
    assert short("Samana (ondersteuning voor mantelzorgers)") == "Samana (ondersteuning voor…"
    assert len(short("x" * 80)) == 30
