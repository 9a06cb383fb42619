"""buurtbot on WhatsApp and SMS: signed Twilio webhooks into the ASGI app, replies through the
real twilio client to Prism, which checks each one against Twilio's own OpenAPI spec."""
from __future__ import annotations

import asyncio
import json
import re
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.runtime import Runtime
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from bot.channels.twilio.app import MESSAGES_PATH, STATUS_PATH
from bot.channels.twilio.render import SMART, segments
from tests.twiliokit import PUBLIC, SMS_FROM, WA_FROM, TwilioWorld, db_url, settings_for, sign, world  # noqa: F401




async def test_a_first_whatsapp_message_gets_the_language_choice(world):
    got = await world.say("Maria", "Hallo")
    assert len(got) == 1 and "1. Nederlands" in got[0]


from sqlalchemy import func, select  # noqa: E402

from handlers.i18n import LANGUAGES, catalog  # noqa: E402
from models import ChannelIdentity, HelpRequest, Outbox, Person  # noqa: E402
from models.network import create_invite, neighbourhood_by_slug  # noqa: E402

WORDS = {"nl": {"yes": "ja", "no": "nee", "lang": "Nederlands"}, "fr": {"yes": "oui", "no": "non", "lang": "Français"}}


def T(lang: str, msgid: str, **params) -> str:
    text = catalog(lang).gettext(msgid)
    return text.format(**params) if params else text


def invite(rt, role: str) -> str:
    with rt.sessions() as s, s.begin():
        return create_invite(s, neighbourhood_by_slug(s, "demo"), role).code


async def join(world: TwilioWorld, name: str, lang: str, channel: str, code: str | None = None) -> None:
    """Onboarding by typing only: language, postcode or invite code, consent, first name."""
    world.phone(name, channel)
    await world.say(name, "Hallo" if lang == "nl" else "Bonjour")
    await world.choose(name, WORDS[lang]["lang"])
    await world.say(name, code or "1040")
    await world.say(name, WORDS[lang]["yes"])
    await world.say(name, name)


async def full_story(world: TwilioWorld, lang: str, channel: str) -> None:
    w, rt = WORDS[lang], world.rt
    await join(world, "Fatima", lang, channel, invite(rt, "coordinator"))
    # a volunteer offers help; the coordinator approves by typing the option's number
    await join(world, "Jan", lang, channel)
    await world.choose("Jan", T(lang, "I would like to help"))
    await world.say("Jan", "1 3")
    await world.say("Jan", lang)
    await world.say("Jan", "2")
    await world.say("Jan", w["no"])
    assert T(lang, "Approve") in world.last("Fatima")
    await world.choose("Fatima", T(lang, "Approve"))
    # a resident asks, typing every answer
    await join(world, "Maria", lang, channel)
    got = await world.choose("Maria", T(lang, "I would like help"))  # the request starts at once (point 18)
    assert T(lang, "What kind of help do you need?") in "\n".join(got)  # on SMS in several parts
    await world.say("Maria", "1")  # shopping & errands
    await world.say("Maria", "Een pak water en brood" if lang == "nl" else "Du pain et de l'eau")
    await world.say("Maria", "2")  # tomorrow
    await world.say("Maria", "Kerkstraat 12, 1040 Etterbeek")
    await world.say("Maria", w["yes"])
    notice = world.last("Jan")
    assert "Kerkstraat" in notice and "Kerkstraat 12" not in notice
    # Jan answers the notification with a bare "1": one open item, so it is taken
    got = await world.say("Jan", "1")
    assert "Kerkstraat 12, 1040 Etterbeek" in "\n".join(got)  # the task, then "when will you go?"
    assert "Jan" in world.last("Maria")
    await world.say("Jan", "morgen om 10 uur" if lang == "nl" else "demain à 10h")  # typed: the visit time
    await world.choose("Jan", T(lang, "My tasks"))
    await world.choose("Jan", T(lang, "Done"))
    assert T(lang, "Say thank you") in world.last("Maria") or "Jan" in world.last("Maria")
    got = "\n".join(await world.say("Maria", "/mydata"))  # on SMS in several parts
    assert "Kerkstraat 12" in got and "Maria" in got
    await world.say("Maria", "/delete")
    got = await world.say("Maria", w["yes"])
    assert got[-1] == T(lang, "Everything we kept about you is deleted. Thank you for taking part in the "
                              "neighbourhood. Type /start if you ever want to come back.")
    with rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person).where(Person.first_name == "Maria")) == 0
        number = world.phones["Maria"][1]
        assert s.scalar(select(func.count()).select_from(ChannelIdentity).where(ChannelIdentity.address == number)) == 0
        assert s.scalar(select(func.count()).select_from(Outbox).where(Outbox.address == number)) == 0


@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
@pytest.mark.parametrize("lang", ["nl", "fr"])
async def test_full_story(world, lang, channel):
    await full_story(world, lang, channel)
    sent = world.edge.messages()
    assert sent and all(m["From"] == (WA_FROM if channel == "whatsapp" else SMS_FROM) for m in sent)
    assert all("Body" in m and "ContentSid" not in m for m in sent)  # everyone wrote within the day
    assert all(m["StatusCallback"].startswith(PUBLIC + "/twilio/status?outbox=") for m in sent)


# ---- webhooks: signatures, replays --------------------------------------------------------------
async def test_forged_missing_or_misplaced_signature_gets_403_and_changes_nothing(world):
    world.phone("Mallory")
    form = world.inbound_form("Mallory", "Hallo")
    assert (await world.post(MESSAGES_PATH, form, signature="c2lnbmF0dXJl")).status_code == 403
    assert (await world.post(MESSAGES_PATH, form, signature="")).status_code == 403
    # signed for the URL this server sees instead of the public one Twilio called
    wrong_url = sign("http://127.0.0.1:8000" + MESSAGES_PATH, form)
    assert (await world.post(MESSAGES_PATH, form, signature=wrong_url)).status_code == 403
    # signed with another account's token
    assert (
        await world.post(MESSAGES_PATH, form, signature=sign(PUBLIC + MESSAGES_PATH, form, "other"))
    ).status_code == 403
    # a body changed after signing
    tampered = {**form, "Body": "/delete"}
    assert (await world.post(MESSAGES_PATH, tampered, signature=sign(PUBLIC + MESSAGES_PATH, form))).status_code == 403
    assert (await world.post(STATUS_PATH, {"MessageSid": "SMx", "MessageStatus": "failed"}, signature="x",
                             query="outbox=1")).status_code == 403
    with world.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(ChannelIdentity).where(ChannelIdentity.channel != "demo")) == 0
        assert s.scalar(select(func.count()).select_from(Outbox)) == 0
    assert world.edge.messages() == []


async def test_a_replayed_message_sid_is_processed_once(world):
    world.phone("Maria")
    form = world.inbound_form("Maria", "Hallo")
    for _ in range(3):
        assert (await world.post(MESSAGES_PATH, form)).status_code == 200
    await world.drain()
    assert len(world.inbox("Maria")) == 1


async def test_the_same_phone_on_sms_is_the_same_person(world):
    await join(world, "Maria", "nl", "whatsapp")
    await world.choose("Maria", "Ik wil graag hulp")
    world.phones["Maria SMS"] = ("sms", world.phones["Maria"][1])
    got = await world.say("Maria SMS", "/menu")
    assert "Hulp vragen" in got[-1] and "Nederlands" not in got[-1]  # no second onboarding
    with world.rt.sessions() as s:
        people = s.scalars(select(ChannelIdentity.person_id).where(ChannelIdentity.address == world.phones["Maria"][1]))
        assert len(set(people)) == 1


# ---- the WhatsApp window, templates and fallbacks ---------------------------------------------------
TEMPLATES = {
    "notify": {"nl": {"content_sid": "HX" + "1" * 32, "variables": {"1": "first_name", "2": "text"}}},
    "*": {"fr": {"content_sid": "HX" + "2" * 32, "variables": {"1": "text"}}},
}


@pytest_asyncio.fixture
async def make_world(twilio_edge, db_url, tmp_path):
    worlds = []

    async def make(templates: dict | None = None, **overrides) -> TwilioWorld:
        if templates is not None:
            path = tmp_path / "templates.json"
            path.write_text(json.dumps(templates))
            overrides["twilio_templates_file"] = str(path)
        w = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, db_url, **overrides)), twilio_edge)
        worlds.append(w)
        return w

    yield make
    for w in worlds:
        await w.close()


async def volunteer_and_coordinator(world: TwilioWorld, lang: str = "nl") -> None:
    """Fatima coordinates, Jan is an approved volunteer for shopping; both on WhatsApp."""
    await join(world, "Fatima", lang, "whatsapp", invite(world.rt, "coordinator"))
    await join(world, "Jan", lang, "whatsapp")
    await world.choose("Jan", T(lang, "I would like to help"))
    for answer in ("1 3", lang, "2", WORDS[lang]["no"]):
        await world.say("Jan", answer)
    await world.choose("Fatima", T(lang, "Approve"))


async def resident_asks(world: TwilioWorld, lang: str = "nl", name: str = "Maria") -> None:
    await join(world, name, lang, "whatsapp")
    got = await world.choose(name, T(lang, "I would like help"))  # the request starts at once (point 18)
    assert T(lang, "What kind of help do you need?") in "\n".join(got)  # on SMS in several parts
    for answer in ("1", "Boodschappen voor morgen", "2", "Kerkstraat 12", WORDS[lang]["yes"]):
        await world.say(name, answer)


def age_window(world: TwilioWorld, name: str, hours: float, channel: str = "whatsapp") -> None:
    with world.rt.sessions() as s, s.begin():
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == channel,
                                                          ChannelIdentity.address == world.phones[name][1]))
        identity.last_inbound_at = identity.last_inbound_at - timedelta(hours=hours)


def outbox_rows(world: TwilioWorld, **where) -> list[Outbox]:
    with world.rt.sessions() as s:
        return list(s.scalars(select(Outbox).filter_by(**where).order_by(Outbox.id)))


async def test_outside_the_window_a_template_goes_never_a_body(make_world):
    world = await make_world(TEMPLATES)
    await volunteer_and_coordinator(world)
    age_window(world, "Jan", 25)
    await resident_asks(world)
    to_jan = world.edge.messages(world.address("Jan"))[-1]
    assert to_jan["ContentSid"] == "HX" + "1" * 32 and "Body" not in to_jan
    variables = json.loads(to_jan["ContentVariables"])
    assert variables["1"] == "Jan" and "Kerkstraat" in variables["2"] and "\n" not in variables["2"]
    # Jan answers: the window is open again, replies are text
    got = await world.say("Jan", "1")
    assert "Kerkstraat 12" in "\n".join(got)
    assert "Body" in world.edge.messages(world.address("Jan"))[-1]


QUICK = {f"quick_reply_{n}": {"*": {"content_sid": "HX" + str(n) * 32, "variables": {
    "1": "text", **{str(2 * i): f"label{i}" for i in range(1, n + 1)},
    **{str(2 * i + 1): f"payload{i}" for i in range(1, n + 1)}}}} for n in (1, 2, 3)}


async def test_quick_replies_where_configured_tapped_or_typed(make_world):
    world = await make_world(QUICK)
    got = await world.say("Maria", "Hallo")
    asked = world.edge.messages(world.address("Maria"))[-1]  # ten languages: numbered lines, not buttons
    assert "ContentSid" not in asked and "\n1. Nederlands" in got[-1] and f"\n{len(LANGUAGES)}. " in got[-1]
    await world.say("Maria", "1")
    await world.say("Maria", "1040")
    consent = world.edge.messages(world.address("Maria"))[-1]  # yes / no, but a text too long for a content variable
    assert "ContentSid" not in consent and "\n1. " in consent["Body"]  # numbered lines, nothing cut
    await world.say("Maria", "ja")
    await world.say("Maria", "Maria")
    sent = world.edge.messages(world.address("Maria"))[-1]  # three short roles: three buttons
    assert sent["ContentSid"] == "HX" + "3" * 32 and "Body" not in sent
    buttons = json.loads(sent["ContentVariables"])
    assert buttons["3"] == "role:help" and buttons["2"] == catalog("nl").gettext("I would like help")
    assert "\n" not in buttons["1"]
    await world.say("Maria", ButtonPayload="role:help")  # a tap comes back as ButtonPayload
    with world.rt.sessions() as s:
        person = s.scalar(select(Person).where(Person.first_name == "Maria"))
        assert person is not None and person.language == "nl" and person.consent_at is not None
        assert person.is_resident
    # four options or more, or a long label: numbered lines as always
    got = await world.say("Maria", "/menu")
    assert "Body" in world.edge.messages(world.address("Maria"))[-1] and "\n1. " in got[-1]


async def test_no_template_and_no_sms_holds_the_message_and_tells_the_coordinator(make_world):
    world = await make_world()
    await volunteer_and_coordinator(world)
    age_window(world, "Jan", 30)
    before = len(world.inbox("Jan"))
    await resident_asks(world)
    assert len(world.inbox("Jan")) == before  # nothing sent to Jan: it would be refused
    held = outbox_rows(world, status="held")
    assert len(held) == 1 and held[0].address == world.phones["Jan"][1] and held[0].purpose == "notify"
    told = world.last("Fatima")
    assert "Jan" in told and "WhatsApp" in told
    # Jan writes again: what was held goes out, then the answer
    got = await world.say("Jan", "menu")
    assert any("Kerkstraat" in m for m in got)
    assert not outbox_rows(world, status="held")


async def test_no_template_but_an_sms_number_goes_by_sms(make_world):
    world = await make_world()
    await volunteer_and_coordinator(world)
    world.phones["Jan SMS"] = ("sms", world.phones["Jan"][1])
    await world.say("Jan SMS", "/menu")
    age_window(world, "Jan SMS", 27, channel="sms")  # WhatsApp is the channel Jan used last
    age_window(world, "Jan", 26)
    await resident_asks(world)
    by_sms = world.inbox("Jan SMS")[-1]
    assert "Kerkstraat" in by_sms and "1. " in by_sms
    rerouted = outbox_rows(world, status="rerouted")
    assert len(rerouted) == 1 and rerouted[0].channel == "whatsapp"


async def test_error_63016_sends_a_template_then_falls_back(make_world):
    world = await make_world(TEMPLATES)
    await volunteer_and_coordinator(world)
    await resident_asks(world)
    notify = outbox_rows(world, purpose="notify", address=world.phones["Jan"][1])[-1]
    assert notify.status == "sent" and notify.platform_message_id
    # Twilio reports that the text was refused: outside the window after all
    assert (await world.status(notify.id, notify.platform_message_id, "undelivered", "63016")).status_code == 204
    await world.drain()
    last = world.edge.messages(world.address("Jan"))[-1]
    assert last["ContentSid"] == "HX" + "1" * 32 and "Body" not in last
    # the template fails as well: held, and the coordinator is told
    row = outbox_rows(world, id=notify.id)[0]
    await world.status(row.id, row.platform_message_id, "failed", "63016")
    await world.drain()
    assert outbox_rows(world, id=notify.id)[0].status == "held"
    assert "Jan" in world.last("Fatima")


async def test_status_callbacks_update_the_outbox_in_order(world):
    await world.say("Maria", "Hallo")
    row = outbox_rows(world, address=world.phones["Maria"][1])[-1]
    for status in ("sent", "delivered", "sent", "queued", "read"):  # late callbacks never move back
        assert (await world.status(row.id, row.platform_message_id, status)).status_code == 204
        current = outbox_rows(world, id=row.id)[0].delivery_status
        assert current == {"sent": "sent", "delivered": "delivered", "queued": "delivered", "read": "read"}[status] \
            if status != "sent" or current == "sent" else current in ("delivered", "sent")
    assert outbox_rows(world, id=row.id)[0].delivery_status == "read"
    # an unknown outbox id or a purged row changes nothing and is not retried by Twilio
    assert (await world.status(999999, "SMnope", "failed", "30008")).status_code == 204


async def test_a_failed_whatsapp_message_goes_again_by_sms(make_world):
    world = await make_world()
    await join(world, "Maria", "nl", "whatsapp")
    world.phones["Maria SMS"] = ("sms", world.phones["Maria"][1])
    await world.say("Maria SMS", "/menu")
    got = await world.say("Maria", "/help")
    row = outbox_rows(world, channel="whatsapp", address=world.phones["Maria"][1])[-1]
    await world.status(row.id, row.platform_message_id, "failed", "63024")
    await world.drain()
    assert world.inbox("Maria SMS")[-1].startswith(got[-1][:40].translate(SMART))
    failed = outbox_rows(world, id=row.id)[0]
    assert failed.status == "rerouted" and failed.error_code == "63024" and failed.delivery_status == "failed"


async def test_429_is_retried_with_backoff_and_nothing_is_lost(world):
    for sender in world.rt.twilio.senders.values():
        sender.first_backoff = 0.05
    world.edge.fail_next(3, 429, 20429)
    world.phone("Maria")
    await world.post(MESSAGES_PATH, world.inbound_form("Maria", "Hallo"))
    for _ in range(100):
        await world.drain()
        if world.inbox("Maria"):
            break
        await asyncio.sleep(0.05)
    assert len(world.inbox("Maria")) == 1
    assert world.rt.twilio.senders["whatsapp"].throttled == 3
    row = outbox_rows(world, address=world.phones["Maria"][1])[-1]
    assert row.status == "sent" and row.attempts == 1
    assert sum(1 for r in world.edge.requests if r["status"] == 429) == 3


async def test_a_voice_note_is_attached_and_forwarded_to_whoever_helps(make_world):
    world = await make_world()
    await volunteer_and_coordinator(world)
    await join(world, "Maria", "nl", "whatsapp")
    got = await world.choose("Maria", "Ik wil graag hulp")  # the request starts at once (point 18)
    assert "Welke hulp hebt u nodig?" in "\n".join(got)
    await world.say("Maria", "3")  # a small repair
    url = "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1"
    await world.say("Maria", "", NumMedia="1", MediaUrl0=url, MediaContentType0="audio/ogg")
    for answer in ("3", "Kerkstraat 12", "ja"):
        await world.say("Maria", answer)
    with world.rt.sessions() as s:
        assert s.scalar(select(HelpRequest)).media == [f"twilio:voice:{url}"]
    await world.say("Jan", "1")
    forwarded = [m for m in world.edge.messages(world.address("Jan")) if m.get("MediaUrl")]
    # by a link of ours: Twilio's own MediaUrl needs the account's credentials (test_media_channels.py)
    assert forwarded and forwarded[-1]["MediaUrl"].startswith(f"{PUBLIC}/media/")


# ---- STOP / START / HELP ------------------------------------------------------------------------
@pytest.mark.parametrize(
    "stop, start, lang", [("STOP", "START", "nl"), ("Arrêt", "start", "fr"), ("stoppen", "/start", "nl")]
)
async def test_stop_is_honoured_at_once_and_confirmed_once(make_world, stop, start, lang):
    world = await make_world()
    await volunteer_and_coordinator(world, lang)
    world.phones["Jan SMS"] = ("sms", world.phones["Jan"][1])
    await world.say("Jan SMS", "/menu")  # Jan's last channel is now SMS
    with world.rt.sessions() as s, s.begin():  # something still queued for Jan
        s.add(Outbox(idempotency_key="queued-for-jan", channel="sms", address=world.phones["Jan"][1],
                     language=lang, purpose="notify", text="queued", options=[]))
    got = await world.say("Jan SMS", stop)
    assert got == [T(lang, "You will not get any more messages from us on this number. Send START to receive them "
                           "again.")]
    assert outbox_rows(world, idempotency_key="queued-for-jan")[0].status == "failed"
    assert await world.say("Jan SMS", stop) == []  # confirmed once
    assert await world.say("Jan SMS", "hallo?") == []  # silence until START
    fire = {"nl": "Help, er is brand in de keuken!", "fr": "Au secours, incendie dans la cuisine !"}[lang]
    assert any("112" in text for text in await world.say("Jan SMS", fire))  # an emergency is still answered
    # a request now reaches Jan on WhatsApp, the channel that did not say STOP
    await resident_asks(world, lang)
    assert "Kerkstraat" in world.last("Jan") and "Kerkstraat" not in world.inbox("Jan SMS")[-1]
    got = await world.say("Jan SMS", start)
    assert got[-1].startswith(T(lang, "Welcome back! You will get our messages on this number again."))
    with world.rt.sessions() as s:
        assert s.scalar(select(ChannelIdentity.opted_out_at).where(ChannelIdentity.channel == "sms")) is None


async def test_a_bare_ja_with_two_requests_waiting_on_sms_asks_which_one(make_world):
    world = await make_world()
    await volunteer_and_coordinator(world)
    world.phones["Jan SMS"] = ("sms", world.phones["Jan"][1])
    await world.say("Jan SMS", "/menu")  # Jan now reads us by SMS: typed answers only
    await resident_asks(world, name="Maria")
    await resident_asks(world, name="Ahmed")
    got = await world.say("Jan SMS", "ja")
    assert got[-1].startswith(T("nl", "You have several questions waiting for an answer. Which one do you mean?"))
    with world.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(HelpRequest).where(HelpRequest.status == "claimed")) == 0
    got = await world.say("Jan SMS", "2")  # the second line: Maria's, the older one
    assert "Kerkstraat 12" in "\n".join(got) and "Maria" in "\n".join(got)


async def test_a_request_reaching_a_volunteer_mid_question_on_sms_brings_no_numbers_of_its_own(make_world):
    world = await make_world()
    await volunteer_and_coordinator(world)
    world.phones["Jan SMS"] = ("sms", world.phones["Jan"][1])
    await world.say("Jan SMS", "/ask")  # Jan asks for help himself ...
    await world.say("Jan SMS", "3")
    await world.say("Jan SMS", "Een lamp ophangen")  # ... and is asked "When?", with numbers
    await resident_asks(world, name="Maria")
    note = world.inbox("Jan SMS")[-1]
    assert "Kerkstraat 12" not in note and "Boodschappen voor morgen" in note  # the street only, as always
    assert not re.search(r"^\d+\. ", note, re.M)  # no "1." that would mean something else now
    assert T("nl", "You are in the middle of another question: answer that one first. Then type /menu to come back to "
                   "this.") in note
    got = await world.say("Jan SMS", "1")  # "today", for his own request
    with world.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(HelpRequest).where(HelpRequest.status == "claimed")) == 0
    assert not any("Kerkstraat 12" in text for text in got)


async def test_help_keyword_before_joining_explains_stop_and_start(world):
    world.phone("Kim", "sms")
    got = await world.say("Kim", "HELP")
    assert "STOP" in got[-1] and "START" in got[-1] and "112" in got[-1]
    with world.rt.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Person).where(Person.first_name == "Kim")) == 0


async def test_a_newcomers_french_emergency_on_whatsapp_is_answered_in_french(world):
    """An unknown number has no language yet: the words decide ("ambulance" is in every lexicon)."""
    got = await world.say("Aïcha", "Au secours, il ne respire plus, ambulance")
    call = "If someone is in danger or needs urgent care: call 112 now (ambulance, fire). Police: 101."
    assert T("fr", call) in got[-1] and T("nl", call) not in got[-1]
    told = T("fr", "buurtbot is not an emergency service. I have also let {contact} know.").split("{")[0]
    assert told in got[-1]  # the only neighbourhood's coordinator heard of it, with the number to call back
    with world.rt.sessions() as s:
        alerts = s.scalars(select(Outbox).where(Outbox.purpose == "alert")).all()
        assert alerts and all(world.phones["Aïcha"][1] in row.text for row in alerts)


# ---- SMS length ---------------------------------------------------------------------------------
async def test_long_sms_texts_are_split_at_sentences_and_counted_in_segments(make_world):
    world = await make_world(twilio_sms_max_segments=2)
    await join(world, "Youssef", "fr", "sms")
    await world.choose("Youssef", T("fr", "I would like help"))
    got = await world.say("Youssef", "/help")
    assert len(got) >= 2
    for part in got:
        assert segments(part)[1] <= 2
        assert part == part.strip() and not part.endswith((" ", "\n"))
    assert "\n1. " in got[-1]  # the options come last, with the text they belong to
    assert all("’" not in p and "–" not in p for p in got)  # typography folded to GSM-7


# ---- `buurtbot run` as an operator starts it ---------------------------------------------------
def test_buurtbot_run_serves_whatsapp_and_sms_and_logs_no_personal_data(twilio_edge, tmp_path):
    """`buurtbot db upgrade` then `buurtbot run` in a subprocess with Twilio settings from the
    environment: a signed webhook over real HTTP gets its answer sent to Prism; a forged one 403."""
    import os
    import subprocess
    import sys
    import time as clock
    from urllib.parse import urlencode

    import httpx

    from tests.processes import stop
    from tests.twilio_edge import ACCOUNT_SID, AUTH_TOKEN, free_port

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_URL", "PUBLIC_BASE_URL"))
    }
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}", PORT=str(port), LOG_LEVEL="INFO",
               PUBLIC_BASE_URL=public, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
               TWILIO_WHATSAPP_FROM=WA_FROM, TWILIO_SMS_FROM=SMS_FROM, TWILIO_API_BASE_URL=twilio_edge.url)
    cli = [sys.executable, "-m", "bot.cli"]
    assert (
        subprocess.run([*cli, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, timeout=60).returncode == 0
    )
    proc = subprocess.Popen([*cli, "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    try:
        deadline = clock.monotonic() + 30
        health = None
        while clock.monotonic() < deadline:
            try:
                health = httpx.get(f"{public}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                clock.sleep(0.2)
        assert health is not None and set(health.json()["channels"]) == {"whatsapp", "sms"}
        form = {"MessageSid": "SM" + "7" * 32, "AccountSid": ACCOUNT_SID, "From": "+32470998877", "To": SMS_FROM,
                "Body": "Bonjour, je m'appelle Amina"}
        url = public + MESSAGES_PATH
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        forged = httpx.post(url, content=urlencode(form), headers={**headers, "X-Twilio-Signature": "Zm9yZ2Vk"})
        assert forged.status_code == 403
        signed = httpx.post(url, content=urlencode(form), headers={**headers, "X-Twilio-Signature": sign(url, form)})
        assert signed.status_code == 200
        while clock.monotonic() < deadline and not twilio_edge.messages("+32470998877"):
            clock.sleep(0.1)
        (reply,) = twilio_edge.messages("+32470998877")
        assert reply["From"] == SMS_FROM and "1. " in reply["Body"]
        assert reply["StatusCallback"].startswith(public + "/twilio/status?outbox=")
    finally:
        stop(proc)
        out, _ = proc.communicate(timeout=20)
    assert "Traceback" not in out, out
    for secret in ("998877", "Amina", AUTH_TOKEN, "Bonjour"):
        assert secret not in out, out
