"""route(): a named, ordered table of rules (issue 9, point 25), and what the order decides --
global words at every step (point 11), typed numbers that name no option (point 12), old
buttons that have expired (point 14). Played through the real dispatcher on the demo channel."""
from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from bot.demo import seed
from handlers.answers import resolve
from handlers.core import Inbound
from handlers.dispatch import RULES, Dispatcher
from handlers.i18n import catalog
from models import ChannelIdentity, ConversationState, HelpRequest
from models.db import make_sessionmaker
from tests.conftest import Chat
from tests.flowkit import last_request, person
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)

ORDER = ["optout_payload", "opted_out", "emergency", "slash_command", "global_word", "expired_button", "onboarding",
         "several_waiting", "global_button", "open_question", "typed_command", "concern", "problem", "media_only",
         "company", "professional", "service_question", "other_language", "offer_in_words", "request_in_words",
         "not_understood"]
EXPIRED = "This button is no longer valid."


def T(lang: str, msgid: str, **params) -> str:
    text = catalog(lang).gettext(msgid)
    return text.format(**params) if params else text


@pytest.fixture
def chat(sqlite_engine):
    """Routing does not depend on the database: SQLite only (test_conversations covers both)."""
    sessions = make_sessionmaker(sqlite_engine)
    with sessions() as session, session.begin():
        seed(session)
    return Chat(sessions, Dispatcher(sessions, rate_limit=100_000))


def join(chat, who: str, lang: str = "en", role: str = "role:help") -> None:
    """Joined, and no question open: "I would like help" starts the first request (point 18), "Not now" leaves it."""
    chat.join(who, who.title(), language=lang, role=role)
    if role == "role:help":
        chat.send(who, payload="menu")


def step_of(chat, who: str) -> str:
    with chat.sessions() as s:
        return s.scalar(select(ConversationState.step).join(ChannelIdentity).where(ChannelIdentity.address == who))


def payloads_of(msg: dict) -> list[str]:
    return [o["payload"] for o in msg["options"]]


# ---- the table ------------------------------------------------------------------------------

def test_rules_are_named_ordered_and_say_why():
    assert [r.name for r in RULES] == ORDER
    for rule in RULES:
        assert rule.why and len(rule.why) <= 120, rule.name


def test_every_rule_is_exercised(chat, caplog):
    caplog.set_level(logging.DEBUG, logger="buurtbot.dispatch")
    chat.send("olga", payload="optout")                      # optout_payload
    chat.send("olga", "hallo?")                              # opted_out
    join(chat, "ann")                                        # slash_command, onboarding
    chat.send("ann", "my neighbour is not breathing")        # emergency
    chat.send("ann", "menu")                                 # global_word
    chat.send("ann", payload="cat:shopping")                 # expired_button (no such question open)
    chat.send("ann", payload="ask")                          # global_button
    chat.send("ann", "1")                                    # open_question (category 1)
    chat.send("ann", "/menu")
    chat.send("ann", "taal")                                 # typed_command
    chat.send("ann", "/menu")
    chat.send("ann", "I am worried about my neighbour, curtains closed for days")  # concern
    chat.send("ann", "The street light at the little square is broken")  # problem
    chat.dispatcher.handle(Inbound("demo", "ann", "", None, platform_message_id="photo-1",
                                   media=("twilio:photo:https://example.org/p.jpg",)))  # media_only
    chat.send("ann", "/menu")
    chat.send("ann", "I feel lonely these days")             # company
    chat.send("ann", "/menu")
    chat.send("ann", "I need help with my tax return")       # professional
    chat.send("ann", "/menu")
    chat.send("ann", "Where can I go for social transport?")  # service_question
    chat.send("ann", "/menu")
    chat.send("ann", "Здравствуйте, у меня вопрос о соседском доме")  # other_language
    chat.send("ann", "I'm going to the shop anyway, can I bring something for someone?")  # offer_in_words
    chat.send("ann", "/menu")
    chat.send("ann", "Can someone do my shopping tomorrow?")  # request_in_words
    chat.send("ann", "/menu")
    chat.send("ann", "blub blub")                            # not_understood
    with chat.sessions() as s, s.begin():                    # two notifications wait for Ann's answer
        state = s.scalar(select(ConversationState).join(ChannelIdentity).where(ChannelIdentity.address == "ann"))
        state.step, state.options = "", [{"label": "1", "payload": "claim:1", "topic": "a"},
                                         {"label": "2", "payload": "claim:2", "topic": "b"}]
    chat.send("ann", "yes")                                  # several_waiting
    routed = {r.getMessage().split()[-1] for r in caplog.records if r.getMessage().startswith("routed by")}
    assert routed == set(ORDER)


# ---- point 11: global words at every step -----------------------------------------------------

def test_menu_mid_question_is_not_the_request(chat):
    join(chat, "ann")
    chat.send("ann", payload="ask")
    chat.send("ann", payload="cat:shopping")
    got = chat.send("ann", "menu")
    assert payloads_of(got[-1])[:1] == ["ask"] and step_of(chat, "ann") == ""
    with chat.sessions() as s:
        assert s.scalar(select(HelpRequest.id)) is None


@pytest.mark.parametrize("word", ["terug", "annuleer", "annuler", "retour", "back", "cancel", "/cancel"])
def test_cancel_words_leave_the_question_and_keep_nothing(chat, word):
    join(chat, "ann")
    chat.send("ann", payload="ask")
    chat.send("ann", payload="cat:shopping")
    chat.send("ann", "a pack of water")
    chat.send("ann", payload="when:today")
    got = chat.send("ann", word)
    assert got[-1]["text"] == T("en", "All right, we leave that. What would you like to do?")
    assert "ask" in payloads_of(got[-1]) and step_of(chat, "ann") == ""
    with chat.sessions() as s:
        p = person(s, "ann")
        assert p.address_full is None and p.street is None
        assert s.scalar(select(HelpRequest.id)) is None
    chat.send("ann", "Kerkstraat 12")  # the old question is over: not an address any more
    with chat.sessions() as s:
        assert person(s, "ann").address_full is None


@pytest.mark.parametrize("word, wanted", [
    ("stop", "All right. You will not hear from us. Type /start if you change your mind."),
    ("annuleer", None),
    ("menu", None),
])
def test_global_words_at_the_language_question(chat, word, wanted):
    chat.send("nina", "/start NOSUCHCODE")
    got = chat.send("nina", word)
    if wanted:
        assert got[-1]["text"] == T("nl", wanted) and step_of(chat, "nina") == ""
    else:  # for a newcomer: the start, with nothing of the half-walked onboarding kept
        assert "lang:nl" in payloads_of(got[-1]) and step_of(chat, "nina") == "onboard.language"
    with chat.sessions() as s:
        data = s.scalar(select(ConversationState.data).join(ChannelIdentity).where(ChannelIdentity.address == "nina"))
        assert "code" not in (data or {})


def test_stop_and_menu_during_a_language_change(chat):
    join(chat, "ann")
    chat.send("ann", "/language")
    got = chat.send("ann", "menu")
    assert "ask" in payloads_of(got[-1]) and step_of(chat, "ann") == ""
    chat.send("ann", "/language")
    got = chat.send("ann", "stop")
    assert got[-1]["text"].startswith(T("en", "You will not get any more messages from us.")[:30])
    with chat.sessions() as s:
        assert person(s, "ann").paused


def test_cancel_during_onboarding_goes_back_to_the_start(chat):
    chat.send("nina", "/start")
    chat.send("nina", payload="lang:fr")
    got = chat.send("nina", "annuler")
    assert "lang:fr" in payloads_of(got[-1]) and step_of(chat, "nina") == "onboard.language"


def test_a_bare_yes_is_not_a_street_nor_a_name(chat):
    chat.send("bob", "/start")
    chat.send("bob", payload="lang:en")
    chat.send("bob", "1040")
    chat.send("bob", payload="yes")
    got = chat.send("bob", "yes")  # meant for something else: not a first name
    assert got[-1]["text"] == T("en", "Please type just your first name.")
    chat.send("bob", "Bob")
    chat.send("bob", payload="role:help")
    chat.send("bob", payload="ask")
    chat.send("bob", payload="cat:shopping")
    chat.send("bob", "bread and milk")
    chat.send("bob", payload="when:today")
    got = chat.send("bob", "ja")  # the street question reads a yes itself: it says why it is no street
    assert got[-1]["text"] == T("en", "That does not look like a street and house number. "
                                      "Please type them like “Kerkstraat 12” or “12 rue de la Loi”.")
    assert step_of(chat, "bob") == "ask.where"
    with chat.sessions() as s:
        assert person(s, "bob").address_full is None
    chat.send("bob", "Kerkstraat 12")
    got = chat.send("bob", "yes please")  # the confirmation offers a yes: it answers it
    with chat.sessions() as s:
        req = last_request(s)
        assert req is not None and req.description == "bread and milk" and req.street == "Kerkstraat"


def test_a_yes_in_a_message_to_a_person_is_passed_on(chat):
    join(chat, "ann")
    chat.send("ann", payload="human")
    chat.send("ann", "ja")
    coordinator = chat.new("coordinator")
    assert any("“ja”" in m["text"] for m in coordinator)


# ---- point 12: a typed number that names no option ------------------------------------------

CAPS = [{"label": str(n), "payload": f"cap:{n}"} for n in (1, 2, 3, 5)]
NAMED = [{"label": "Shopping", "payload": "cat:shopping"}, {"label": "A ride", "payload": "cat:lift"}]


@pytest.mark.parametrize("typed, options, payload, stray", [
    ("4", CAPS, None, True),          # not a label; position 4 would be its neighbour, 5
    ("5", CAPS, "cap:5", False),      # the label, not position 5 (there is none)
    ("3", CAPS, "cap:3", False),
    ("٣", CAPS, "cap:3", False),      # Arabic-Indic digits are digits
    ("2", NAMED, "cat:lift", False),  # named options: a position
    ("3", NAMED, None, True),
    ("1040", NAMED, None, False),     # a postcode next to named options: for the step to read
])
def test_typed_numbers_match_labels_or_positions(typed, options, payload, stray):
    answer = resolve(Inbound("demo", "x", typed), options)
    assert (answer.payload, answer.stray_number) == (payload, stray)


def test_weekly_cap_four_is_asked_again_never_five(chat):
    join(chat, "vera", role="role:give")
    chat.send("vera", "1 2")
    chat.send("vera", "en")
    got = chat.send("vera", "4")
    assert T("en", "How many tasks a week at most? You can change this later.") == got[-1]["text"]
    assert payloads_of(got[-1]) == ["cap:1", "cap:2", "cap:3", "cap:5"] and step_of(chat, "vera") == "offer.cap"
    with chat.sessions() as s:
        assert person(s, "vera").max_tasks_per_week == 2  # the default: nothing stored
    chat.send("vera", "5")
    with chat.sessions() as s:
        assert person(s, "vera").max_tasks_per_week == 5
    assert step_of(chat, "vera") == "offer.duo"


def test_a_number_beyond_the_categories_asks_again(chat):
    join(chat, "ann")
    chat.send("ann", payload="ask")
    got = chat.send("ann", "9")
    assert got[-1]["text"] == T("en", "What kind of help do you need?") and step_of(chat, "ann") == "ask.category"


# ---- point 14: old buttons ------------------------------------------------------------------

def test_an_old_button_with_no_question_open_shows_the_menu(chat):
    join(chat, "ann")
    got = chat.send("ann", payload="role:give")  # the joining question, long answered
    assert got[-1]["text"].startswith(T("en", EXPIRED)) and "ask" in payloads_of(got[-1])
    with chat.sessions() as s:
        assert not person(s, "ann").is_volunteer


@pytest.mark.parametrize("payload", ["claim:999999", "done:424242", "vol:ok:999999", "msg:7", "menu:x", "zzz"])
def test_a_button_whose_record_is_gone_has_expired(chat, payload):
    join(chat, "ann")
    got = chat.send("ann", payload=payload)
    assert got[-1]["text"].startswith(T("en", EXPIRED)) and "ask" in payloads_of(got[-1])


def test_an_old_button_mid_question_asks_that_question_again(chat):
    join(chat, "ann")
    chat.send("ann", payload="ask")
    chat.send("ann", payload="cat:shopping")
    got = chat.send("ann", payload="cat:lift")  # pressed twice: the question moved on
    describe = "Please describe in a few words what you need, for example: “a pack of water from the supermarket”."
    assert [m["text"] for m in got] == [T("en", EXPIRED), T("en", describe)]
    assert step_of(chat, "ann") == "ask.describe"


def test_an_old_button_after_delete_shows_the_start(chat):
    join(chat, "ann")
    chat.send("ann", "/delete")
    chat.send("ann", payload="delete:yes")
    got = chat.send("ann", payload="ask")
    assert got[0]["text"] == T("en", EXPIRED) or got[0]["text"] == T("nl", EXPIRED)
    assert "lang:nl" in payloads_of(got[-1])


async def test_a_stale_telegram_button_says_it_expired(telegram_fake, tmp_path, sqlite_template):
    import shutil

    from tests.tgkit import TelegramPeople, build_runtime, join as tg_join, running

    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    rt = build_runtime(telegram_fake, f"sqlite:///{path}")
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        await tg_join(people, "Kim", "fr")
        await people.press("Kim", "menu")  # "Not now" to the first request (point 18): no question open
        kim = people.user("Kim")  # the role question's button, pressed again
        got = await people._after("Kim", lambda: telegram_fake.inject_callback_query("role:give", user=kim))
        assert got[-1]["text"].startswith(T("fr", EXPIRED))
        assert any(b["callback_data"] == "ask" for row in got[-1]["reply_markup"]["inline_keyboard"] for b in row)
        assert T("fr", "Sorry, I did not understand that. You can choose one of these, or type its number:") \
            not in got[-1]["text"]
        assert telegram_fake.unanswered_callback_queries() == []


@pytest.mark.parametrize("send", [dict(text="12"), dict(payload="role:give")])
def test_the_first_request_question_is_asked_again_not_routed_twice(chat, send):
    """Right after joining (point 18) a stray "12" or an old button re-asks the category question:
    the message is not routed a second time (which said "expired" twice or "not understood")."""
    chat.join("ann", "Ann", language="en", role="role:help")
    got = chat.send("ann", **send)
    texts = [m["text"] for m in got]
    assert texts[-1] == T("en", "What kind of help do you need?") and "cat:shopping" in payloads_of(got[-1])
    assert sum(T("en", EXPIRED) in t for t in texts) == (1 if "payload" in send else 0), texts
    assert not any(t.startswith(T("en", "Sorry, I did not understand")[:20]) for t in texts), texts
    assert step_of(chat, "ann") == "ask.category"


# ---- issue 12 review: a request naming a street problem; an emergency typed after a command ----

STREET_AND_SHOPPING = ("Kan iemand boodschappen voor mij doen? De straatlamp is kapot en ik durf 's avonds niet meer "
                       "buiten.")
PASSED_ON = "Thank you! I passed the street problem on to {contact}, who can report it to the commune."
CALL_112 = "If someone is in danger or needs urgent care: call 112 now (ambulance, fire). Police: 101."


def cases_of(chat) -> list:
    from models.cases import Case

    with chat.sessions() as s:
        return [(c.kind, c.text) for c in s.scalars(select(Case).order_by(Case.id))]


def data_of(chat, who: str) -> dict:
    with chat.sessions() as s:
        return s.scalar(select(ConversationState.data).join(ChannelIdentity).where(ChannelIdentity.address == who))


def test_a_request_that_names_a_street_problem_is_asked_and_the_problem_passed_on(chat):
    """Never a request silently turned into a case: the street light goes to the coordinator (said
    in one line), and the shopping is proposed back as a request, as it would be alone."""
    join(chat, "maria", "nl")
    chat.new("coordinator")
    got = chat.send("maria", STREET_AND_SHOPPING)
    texts = [m["text"] for m in got]
    assert texts[0] == T("nl", PASSED_ON, contact="Fatima"), texts
    assert step_of(chat, "maria") == "ask.proposal" and data_of(chat, "maria")["category"] == "shopping"
    assert payloads_of(got[-1]) == ["yes", "no"]
    assert cases_of(chat) == [("problem", STREET_AND_SHOPPING)]
    assert any("straatlamp" in m["text"] for m in chat.new("coordinator"))
    chat.send("maria", payload="yes")  # the request goes on: its questions, not the problem's
    assert step_of(chat, "maria").startswith("ask.")


def test_an_offer_that_names_a_street_problem_is_an_offer_too(chat):
    join(chat, "jan", "nl")
    text = ("Ik ga toch naar de winkel, kan ik iets meebrengen voor iemand? Trouwens, de straatlamp aan het pleintje "
            "is kapot.")
    got = chat.send("jan", text)
    assert got[0]["text"] == T("nl", PASSED_ON, contact="Fatima")
    assert got[1]["text"].startswith(T("nl", "Thank you for offering help! A few questions first."))
    assert cases_of(chat) == [("problem", text)] and step_of(chat, "jan").startswith("offer.")


@pytest.mark.parametrize("lang, text", [
    ("nl", "De straatlamp aan het pleintje is al twee weken kapot, het is er 's avonds donker."),
    ("fr", "Le lampadaire de la petite place est en panne depuis deux semaines."),  # read as "repair": the problem
])
def test_a_street_problem_alone_is_only_the_problem(chat, lang, text):
    join(chat, "rosa", lang)
    got = chat.send("rosa", text)
    assert [m["text"] for m in got] == [T(lang, "Thank you! I passed this on to {contact}, who can report it to the "
                                                "commune.", contact="Fatima")]
    assert cases_of(chat) == [("problem", text)] and step_of(chat, "rosa") == ""


@pytest.mark.parametrize("lang, typed, wanted_lang, case", [
    ("nl", "/probleem Er ligt een man bewusteloos op straat, hij ademt niet", "nl", "problem"),
    ("nl", "/worried mijn buurman ademt niet meer", "nl", "concern"),
    ("en", "/problem Il y a un homme inconscient dans la rue, il ne respire pas", "fr", "problem"),
    ("nl", "/menu hij ademt niet", "nl", None),
    ("en", "/language I want to kill myself", "en", None),
])
def test_an_emergency_typed_after_any_command_gets_112_first(chat, lang, typed, wanted_lang, case):
    """An emergency is always answered, in the language it is written in -- then the command still does its work."""
    join(chat, "maria", lang)
    chat.new("coordinator")
    got = chat.send("maria", typed)
    assert got[0]["text"].startswith(T(wanted_lang, CALL_112)), [m["text"] for m in got]
    assert len(got) >= 2, "the command was not done after the 112 answer"
    assert [kind for kind, _text in cases_of(chat)] == ([case] if case else [])
    assert any(m["text"].startswith("URGENT") for m in chat.new("coordinator"))


def test_a_command_word_alone_carries_no_signal(chat):
    join(chat, "maria", "nl")
    got = chat.send("maria", "/probleem")
    assert step_of(chat, "maria") == "case.problem" and not any(CALL_112[:20] in m["text"] for m in got)


def test_an_announcement_about_a_fire_drill_gets_112_and_is_kept(chat):
    """A coordinator's announcement with alarm words: the 112 answer (always), and the text kept --
    the broadcast goes on to whom it is for."""
    text = "Zaterdag om 10 uur is er een brandoefening. Bij brand: bel 112."
    chat.send("coordinator", "/broadcast")
    got = chat.send("coordinator", text)
    assert got[0]["text"].startswith(T("en", CALL_112))
    assert got[-1]["text"] == T("en", "Who should get it?") and "bcaud:everyone" in payloads_of(got[-1])
    assert step_of(chat, "coordinator") == "bc.audience" and data_of(chat, "coordinator")["text"] == text


def test_a_worry_typed_at_its_question_with_alarm_words_is_still_passed_on(chat):
    join(chat, "maria", "nl")
    chat.send("maria", "/worried")
    got = chat.send("maria", "Mijn buurvrouw is gevallen en ademt niet goed")
    assert got[0]["text"].startswith(T("nl", CALL_112))
    assert cases_of(chat) == [("concern", "Mijn buurvrouw is gevallen en ademt niet goed")]
    assert step_of(chat, "maria") == ""
