"""Check-ins by phone call: calls.create through the real twilio client, validated by Prism
against Twilio's own spec; TwiML parsed; signed (and forged) TwiML, Gather and status requests
through the real Starlette app, as Twilio sends them."""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from bot.runtime import Runtime
from bot.channels.voice.sender import EVENTS, GATHER_PATH, STATUS_PATH, TWIML_PATH
from handlers.i18n import catalog
from models import ChannelIdentity, InboundLog, Outbox
from models.schedules import CheckinAttempt, CheckinOccurrence
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import PUBLIC, db_url, sign  # noqa: F401  (fixture)
from tests.voicekit import PROMPTS, VOICE_FROM, VoiceWorld, voice, voice_settings  # noqa: F401  (fixture)


def T(lang: str, msgid: str) -> str:
    return catalog(lang).gettext(msgid)


def says(node) -> list[str]:
    return [say.text for say in node.iter("Say")]


def top(root) -> list[str]:
    """The verbs of a TwiML document in order."""
    return [child.tag for child in root]


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


# ---- placing the call -------------------------------------------------------------------------
async def test_a_voice_row_becomes_one_call_as_twilio_documents_it(voice):
    row_id, _occ = voice.checkin()
    call = await voice.call(row_id)
    form = call.form
    assert form["From"] == VOICE_FROM and form["To"] == voice.row(row_id).address
    assert form["Url"].startswith(f"{PUBLIC}{TWIML_PATH}?row={row_id}&t=")
    assert form["StatusCallback"].startswith(f"{PUBLIC}{STATUS_PATH}?row={row_id}&t=")
    assert form["StatusCallbackEvent"] == EVENTS == ["initiated", "ringing", "answered", "completed"]
    assert form["MachineDetection"] == "DetectMessageEnd" and form["Timeout"] == "20"
    row = voice.row(row_id)
    assert row.status == "sent" and row.platform_message_id == call.sid and call.sid.startswith("CA")
    await voice.drain()  # nothing is called twice
    assert len(voice.edge.calls()) == 1


# ---- the TwiML ----------------------------------------------------------------------------------
@pytest.mark.parametrize("lang, tag, name", [("nl", "nl-BE", "Polly.Lisa-Neural"),
                                             ("fr", "fr-BE", "Polly.Isabelle-Neural")])
async def test_the_menu_is_said_in_the_persons_language_with_one_reprompt_then_goodbye(voice, lang, tag, name):
    row_id, _occ = voice.checkin("Maria", lang)
    call = await voice.call(row_id)
    root = await call.twiml()
    assert root.tag == "Response"
    assert top(root) == ["Gather", "Say", "Gather", "Say", "Hangup"]
    first, heard, second, bye = root[0], root[1], root[2], root[3]
    for gather, attempt in ((first, "1"), (second, "2")):
        assert gather.get("input") == "dtmf" and gather.get("numDigits") == "1" and gather.get("method") == "POST"
        action = gather.get("action")
        assert action.startswith(f"{PUBLIC}{GATHER_PATH}?row={row_id}&")
        assert query(action)["try"] == attempt and query(action)["t"] == query(call.form["Url"])["t"]
        assert says(gather) == [PROMPTS[lang].format(name="Maria"), T(lang, "To hear this again, press zero.")]
    assert heard.text == T(lang, "I did not hear a choice.") and bye.text == T(lang, "Goodbye.")
    assert T(lang, "Goodbye.") != "Goodbye."  # translated, not the English msgid
    for say in root.iter("Say"):
        assert say.get("language") == tag and say.get("voice") == name


async def test_every_language_has_a_voice_and_twilio_voices_overrides_it(twilio_edge, db_url):  # noqa: F811
    from handlers import lexicon

    expected = {"nl": ("Polly.Lisa-Neural", "nl-BE"), "fr": ("Polly.Isabelle-Neural", "fr-BE"),
                "en": ("Polly.Amy-Neural", "en-GB"), "ar": ("Polly.Zeina", "arb"), "tr": ("Polly.Filiz", "tr-TR"),
                "es": ("Polly.Lucia-Neural", "es-ES"), "pt": ("Polly.Ines-Neural", "pt-PT"),
                "it": ("Polly.Bianca-Neural", "it-IT"), "pl": ("Polly.Ola-Neural", "pl-PL"),
                "ro": ("Polly.Carmen", "ro-RO")}
    assert {code: lexicon.voice(code) for code in expected} == expected
    overrides = "nl=Google.nl-BE-Wavenet-A, ar=Google.ar-XA-Wavenet-A"
    settings = voice_settings(twilio_edge.url, db_url, twilio_voices=overrides)
    world = VoiceWorld(Runtime.build(settings), twilio_edge)
    try:
        cases = (("nl", "Google.nl-BE-Wavenet-A", "nl-BE"), ("ar", "Google.ar-XA-Wavenet-A", "arb"),
                 ("fr", "Polly.Isabelle-Neural", "fr-BE"))
        for lang, voice_name, tag in cases:
            row_id, _occ = world.checkin("Amina", lang)
            root = await (await world.call(row_id)).twiml()
            assert {(s.get("voice"), s.get("language")) for s in root.iter("Say")} == {(voice_name, tag)}
            # no direction marks reach the speech engine, even in Arabic
            assert not any(ch in "".join(says(root)) for ch in "\u200e\u200f\u2066\u2067\u2068\u2069")
    finally:
        await world.close()


async def test_a_machine_gets_the_voicemail_only_and_the_ladder_hears_machine(voice):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    root = await call.twiml(answered_by="machine_start")
    assert top(root) == ["Say", "Hangup"] and root.find("Gather") is None
    assert says(root) == [T("nl", "Hello {name}, this is {sender}. I will try again later. Goodbye.").format(
        name="Maria", sender="Fatima")]
    assert PROMPTS["nl"][:20] not in "".join(says(root))
    assert (await call.status("completed", AnsweredBy="machine_start")).status_code == 204
    assert voice.attempts(occ)[-1] == ("call", "machine")


async def test_a_machine_reported_only_in_the_status_callback_counts_as_machine(voice):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    assert (await call.status("completed", AnsweredBy="machine_end_beep")).status_code == 204
    assert voice.attempts(occ) == [("call", "machine")]


# ---- keys -------------------------------------------------------------------------------------
async def test_a_check_in_answered_by_pressing_one(voice):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    for status in ("initiated", "ringing", "in-progress"):
        assert (await call.status(status)).status_code == 204
    root = await call.twiml()
    root = await call.press(root[0].get("action"), "1")
    assert says(root) == [T("nl", "Thank you. Good to hear."), T("nl", "Goodbye.")] and top(root)[-1] == "Hangup"
    assert (await call.status("completed", CallDuration="31")).status_code == 204
    with voice.rt.sessions() as s:
        assert s.get(CheckinOccurrence, occ).answer == "ok"
    assert voice.attempts(occ) == [("call", "ringing"), ("call", "answered"), ("answer", "ok"),
                                   ("call", "completed")]  # no "no-digit": the person answered
    assert voice.row(row_id).delivery_status == "completed"


async def test_zero_repeats_and_a_key_with_no_choice_reprompts_once(voice):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    menu = await call.twiml()
    again = await call.press(menu[0].get("action"), "0")
    assert top(again) == top(menu) and says(again) == says(menu)
    wrong = await call.press(again[0].get("action"), "7")
    assert top(wrong) == ["Say", "Gather", "Say", "Hangup"]
    assert wrong[0].text == T("nl", "Sorry, that key is not one of the choices.")
    assert query(wrong[1].get("action"))["try"] == "2"
    wrong_again = await call.press(wrong[1].get("action"), "9")
    assert says(wrong_again) == [T("nl", "Sorry, that key is not one of the choices."), T("nl", "Goodbye.")]
    assert wrong_again.find("Gather") is None and top(wrong_again)[-1] == "Hangup"
    assert (await call.status("completed")).status_code == 204
    assert voice.attempts(occ) == [("call", "no-digit")]


async def test_silence_reprompts_once_then_goodbye_and_the_ladder_hears_no_digit(voice):
    row_id, occ = voice.checkin("Jeanne", "fr")
    call = await voice.call(row_id)
    menu = await call.twiml()
    # Twilio heard nothing at the first Gather: it goes on to the re-prompt in the document itself
    assert says(menu)[2] == T("fr", "I did not hear a choice.")
    # an empty Digits posted to the second Gather's action (actionOnEmptyResult): goodbye, no third prompt
    root = await call.press(menu[2].get("action"), "")
    assert says(root) == [T("fr", "I did not hear a choice."), T("fr", "Goodbye.")]
    assert root.find("Gather") is None
    root = await call.press(menu[0].get("action"), "")  # empty at the first: the one re-prompt
    assert top(root) == ["Say", "Gather", "Say", "Hangup"]
    assert (await call.status("completed")).status_code == 204
    assert voice.attempts(occ) == [("call", "no-digit")]
    with voice.rt.sessions() as s:
        assert s.get(CheckinOccurrence, occ).answer is None


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
async def test_a_call_that_never_got_through_goes_to_the_ladder(voice, status):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    assert (await call.status("initiated")).status_code == 204
    assert (await call.status(status)).status_code == 204
    assert (await call.status("ringing")).status_code == 204  # late, out of order
    assert voice.row(row_id).delivery_status == status
    assert voice.attempts(occ) == [("call", status), ("call", "ringing")]


async def test_bad_data_in_a_row_ends_the_call_quietly_never_with_an_error(voice):
    row_id, _occ = voice.checkin(options=[{"label": "OK"}])  # an option without its payload
    call = await voice.call(row_id)
    root = await call.press((await call.twiml())[0].get("action"), "1")
    assert top(root) == ["Hangup"]
    with voice.rt.sessions() as s:  # nothing of the failed request was kept
        assert s.scalar(select(func.count()).select_from(InboundLog)
                        .where(InboundLog.platform_message_id == f"{call.sid}:answer")) == 0


# ---- replays ------------------------------------------------------------------------------------
async def test_replayed_callbacks_change_nothing_twice(voice):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    for _ in range(3):
        assert (await call.status("ringing")).status_code == 204
    root = await call.twiml()
    first = await call.press(root[0].get("action"), "2")
    assert says(first)[0] == T("nl", "Thank you. {helper} will call you soon.").format(helper="Fatima")
    with voice.rt.sessions() as s:
        assert s.get(CheckinOccurrence, occ).answer == "call_me"
    replay = await call.press(root[0].get("action"), "2")  # the same Digits for the same call
    assert says(replay) == [T("nl", "Goodbye.")]
    other = await call.press(root[0].get("action"), "3")  # a later key cannot change the answer
    assert says(other) == [T("nl", "Goodbye.")]
    for _ in range(2):
        assert (await call.status("completed")).status_code == 204
    assert voice.attempts(occ) == [("call", "ringing"), ("answer", "call_me"), ("callback", "asked"),
                                   ("call", "completed")]
    with voice.rt.sessions() as s:
        assert s.get(CheckinOccurrence, occ).answer == "call_me"


async def test_a_replayed_final_status_ends_the_call_once(voice):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    for _ in range(3):
        assert (await call.status("no-answer")).status_code == 204
    assert voice.attempts(occ) == [("call", "no-answer")]


# ---- signatures -------------------------------------------------------------------------------
def snapshot(voice: VoiceWorld) -> tuple:
    with voice.rt.sessions() as s:
        return (s.scalar(select(func.count()).select_from(CheckinAttempt)),
                s.scalar(select(func.count()).select_from(InboundLog)),
                tuple(s.execute(select(Outbox.id, Outbox.status, Outbox.delivery_status)).all()),
                tuple(s.execute(select(CheckinOccurrence.id, CheckinOccurrence.answer)).all()))


async def test_forged_or_missing_signatures_get_403_and_change_nothing(voice):
    row_id, occ = voice.checkin()
    call = await voice.call(row_id)
    before = snapshot(voice)
    gather = call.form["Url"].replace(TWIML_PATH, GATHER_PATH) + "&try=1"
    requests = [(call.form["Url"], call.params(AnsweredBy="machine_start")),
                (gather, call.params(Digits="1")),
                (call.form["StatusCallback"], call.params(CallStatus="busy"))]
    for url, params in requests:
        assert (await voice.post(url, params, signature="")).status_code == 403  # missing
        assert (await voice.post(url, params, signature="c2lnbmF0dXJl")).status_code == 403  # forged
        assert (await voice.post(url, params, signature=sign(url, params, "another-token"))).status_code == 403
        tampered = {**params, "Digits": "3", "CallStatus": "failed"}
        assert (await voice.post(url, tampered, signature=sign(url, params))).status_code == 403
        # signed for the URL this server sees rather than the public one Twilio called
        local = url.replace(PUBLIC, "http://127.0.0.1:8000")
        assert (await voice.post(url, params, signature=sign(local, params))).status_code == 403
        # a valid signature, but a row token that is not ours (someone else's call)
        other = url.replace(f"row={row_id}&", f"row={row_id + 1}&")
        assert (await voice.post(other, params)).status_code == 403
        for token in ("%C3%A9", "", "0" * 24):  # not ASCII, empty, made up
            assert (await voice.post(url.split("&t=")[0] + f"&t={token}", params)).status_code == 403
        # GET with the parameters in a query the signature does not cover
        assert (await voice.post(url, params, signature="x", method="GET")).status_code == 403
    assert snapshot(voice) == before
    assert voice.attempts(occ) == []


async def test_a_signed_get_is_answered_like_a_post(voice):
    """Twilio uses POST unless told otherwise; a GET (Method=GET) carries its parameters in the signed query."""
    from urllib.parse import urlencode

    row_id, _occ = voice.checkin()
    call = await voice.call(row_id)
    url = call.form["Url"] + "&" + urlencode(call.params(AnsweredBy="human"))
    response = await voice.post(url, {}, method="GET")
    assert response.status_code == 200 and "<Gather" in response.text


# ---- the sender: Twilio's refusals --------------------------------------------------------------
async def test_429_pauses_with_no_attempt_counted_then_the_call_goes(voice):
    row_id, occ = voice.checkin()
    voice.rt.voice.sender.first_backoff = 0.01
    voice.edge.fail_next(1, 429, 20429)
    await voice.rt.voice.sender.drain_once(wait=True)
    row = voice.row(row_id)
    assert row.status == "pending" and row.attempts == 0 and row.error_code == "20429"
    assert voice.rt.voice.sender.throttled == 1
    with voice.rt.sessions() as s, s.begin():
        s.get(Outbox, row_id).next_attempt_at = s.get(Outbox, row_id).created_at  # due again now
    call = await voice.call(row_id)
    assert voice.row(row_id).status == "sent" and call.sid
    assert voice.attempts(occ) == []


@pytest.mark.parametrize("code", [21211, 21217])
async def test_a_number_twilio_cannot_call_fails_once_and_the_ladder_hears_failed(voice, code):
    row_id, occ = voice.checkin()
    voice.edge.fail_next(1, 400, code)
    await voice.drain()
    row = voice.row(row_id)
    assert row.status == "failed" and row.error_code == str(code)
    await voice.drain()
    assert len([r for r in voice.edge.requests if r["path"].endswith("/Calls.json")]) == 1  # never again
    assert voice.attempts(occ) == [("call", "failed")]
    with voice.rt.sessions() as s:
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel == "voice",
                                                          ChannelIdentity.address == row.address))
        assert identity.active is False


async def test_a_malformed_number_is_never_called(voice):
    row_id, occ = voice.checkin(number="0470 12 34 56")
    await voice.drain()
    assert voice.row(row_id).status == "failed" and voice.edge.calls() == []
    assert voice.attempts(occ) == [("call", "failed")]


async def test_calls_are_paced_at_twilio_rate_voice(twilio_edge, db_url):  # noqa: F811
    from tests.fakeclock import FakeClock

    rate = 1.0  # Twilio's default: one call a second
    world = VoiceWorld(Runtime.build(voice_settings(twilio_edge.url, db_url, twilio_rate_voice=rate)), twilio_edge)
    try:
        for i in range(4):
            world.checkin(f"Persoon{i}")
        sender = world.rt.voice.sender
        clock = FakeClock()
        sender.clock, sender.sleep, twilio_edge.clock = clock, clock.sleep, clock
        start = clock()
        await world.drain()
        arrived = sorted(r["at"] for r in twilio_edge.requests if r["path"].endswith("/Calls.json"))
        assert len(arrived) == 4
        assert all(at >= start + i / rate for i, at in enumerate(arrived)), arrived
    finally:
        await world.close()


# ---- wiring -------------------------------------------------------------------------------------
async def test_voice_is_on_only_with_account_number_and_public_url(twilio_edge, db_url):  # noqa: F811
    assert Runtime.build(voice_settings(twilio_edge.url, db_url, public_base_url=None)).voice is None
    assert Runtime.build(voice_settings(twilio_edge.url, db_url, twilio_voice_from=None)).voice is None
    rt = Runtime.build(voice_settings(twilio_edge.url, db_url))
    assert rt.voice is not None and "voice" in rt.settings.channels
    world = VoiceWorld(rt, twilio_edge)
    try:
        health = (await world.http.get("/healthz")).json()
        assert health["voice"] == {"sent": 0, "throttled": 0} and "voice" in health["channels"]
    finally:
        await world.close()


async def test_copies_of_one_callback_at_once_on_postgresql_change_things_once(twilio_edge):  # noqa: F811
    """Twilio may deliver a callback twice at the same moment: the copies meet at the inbound
    log's unique index, and only one of them answers or ends the call."""
    import asyncio

    from models.schema import upgrade
    from tests.conftest import fresh_pg_database

    with fresh_pg_database("buurtbot_voice") as url:
        rt = Runtime.build(voice_settings(twilio_edge.url, url))
        upgrade(rt.engine)
        world = VoiceWorld(rt, twilio_edge)
        try:
            answered_row, answered = world.checkin("Maria")
            ended_row, ended = world.checkin("Jan")
            call, other = await world.call(answered_row), await world.call(ended_row)
            action = (await call.twiml())[0].get("action")
            roots = await asyncio.gather(*[call.press(action, "1") for _ in range(6)])
            thanked = [r for r in roots if T("nl", "Thank you. Good to hear.") in says(r)]
            assert len(thanked) == 1 and all(says(r) == [T("nl", "Goodbye.")] for r in roots if r not in thanked)
            statuses = await asyncio.gather(*[other.status("busy") for _ in range(6)])
            assert {r.status_code for r in statuses} == {204}
            assert world.attempts(answered) == [("answer", "ok")]
            assert world.attempts(ended) == [("call", "busy")]
        finally:
            await world.close()
            rt.engine.dispose()


def test_text_is_made_to_be_heard_and_voices_are_read_from_the_setting():
    from bot.channels.voice.render import parse_voices, spoken

    assert spoken("Goedemorgen Maria\n\n1 = ja\u200f\nAlles goed?") == "Goedemorgen Maria. 1 = ja. Alles goed?"
    assert spoken("\u2068Fatima\u2069 تتصل بكم.\nهل كل شيء بخير؟") == "Fatima تتصل بكم. هل كل شيء بخير؟"
    assert parse_voices(" nl = Polly.Lisa-Neural,fr=Polly.Isabelle-Neural,,bad, =x") == {
        "nl": "Polly.Lisa-Neural", "fr": "Polly.Isabelle-Neural"}
    assert parse_voices(None) == {}


# ---- `buurtbot run` as an operator starts it ---------------------------------------------------
def test_buurtbot_run_places_the_call_and_answers_twilio_over_http(twilio_edge, tmp_path):  # noqa: F811
    """`buurtbot run` with SMS and voice configured: the voice sender runs beside the SMS one,
    the queued check-in becomes a call at Prism, and Twilio's signed requests over real HTTP get
    the menu, the answer and the status recorded; the log names nobody."""
    import os
    import subprocess
    import sys
    import time as clock
    import xml.etree.ElementTree as ET
    from urllib.parse import urlencode

    import httpx

    from bot.demo import seed
    from models.db import make_engine, make_sessionmaker
    from tests.processes import stop
    from tests.twilio_edge import ACCOUNT_SID, AUTH_TOKEN, free_port
    from tests.twiliokit import SMS_FROM
    from tests.voicekit import write_checkin

    port = free_port()
    public = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TELEGRAM_", "TWILIO_", "DATABASE_URL", "PUBLIC_BASE_URL"))}
    database = f"sqlite:///{tmp_path / 'bot.db'}"
    env.update(DATABASE_URL=database, PORT=str(port), LOG_LEVEL="INFO", PUBLIC_BASE_URL=public,
               TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_SMS_FROM=SMS_FROM,
               TWILIO_VOICE_FROM=VOICE_FROM, TWILIO_API_BASE_URL=twilio_edge.url)
    cli = [sys.executable, "-m", "bot.cli"]
    assert subprocess.run([*cli, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True,
                          timeout=60).returncode == 0
    engine = make_engine(database)
    sessions = make_sessionmaker(engine)
    with sessions() as s, s.begin():
        seed(s)
    number = "+32470665544"
    _row, occ = write_checkin(sessions, "Godelieve", "nl", number)
    proc = subprocess.Popen([*cli, "run"], env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)

    def post(url: str, form: dict) -> httpx.Response:
        return httpx.post(url, content=urlencode(form), timeout=10,
                          headers={"Content-Type": "application/x-www-form-urlencoded",
                                   "X-Twilio-Signature": sign(url, form)})

    try:
        deadline = clock.monotonic() + 30
        while clock.monotonic() < deadline and not twilio_edge.calls(number):
            clock.sleep(0.1)
        (call,) = twilio_edge.calls(number)
        health = httpx.get(f"{public}/healthz", timeout=5).json()
        assert set(health["channels"]) == {"sms", "voice"} and health["voice"]["sent"] == 1
        params = {"CallSid": call["sid"], "AccountSid": ACCOUNT_SID, "From": VOICE_FROM, "To": number,
                  "CallStatus": "in-progress", "AnsweredBy": "human", "Direction": "outbound-api"}
        forged = httpx.post(call["Url"], content=urlencode(params), headers={"X-Twilio-Signature": "Zm9yZ2Vk"})
        assert forged.status_code == 403
        menu = ET.fromstring(post(call["Url"], params).text)
        assert menu[0].tag == "Gather" and menu[0].get("action").startswith(public + GATHER_PATH)
        thanks = ET.fromstring(post(menu[0].get("action"), {**params, "Digits": "1"}).text)
        assert says(thanks) == [T("nl", "Thank you. Good to hear."), T("nl", "Goodbye.")]
        assert post(call["StatusCallback"], {**params, "CallStatus": "completed"}).status_code == 204
        with sessions() as s:
            assert s.get(CheckinOccurrence, occ).answer == "ok"
            assert s.scalar(select(Outbox.delivery_status).where(Outbox.platform_message_id == call["sid"])) \
                == "completed"
    finally:
        stop(proc)
        out, _ = proc.communicate(timeout=20)
        engine.dispose()
    assert "Traceback" not in out, out
    for secret in (number, "665544", "Godelieve", AUTH_TOKEN, "Goedemorgen"):
        assert secret not in out, out


async def test_a_status_callback_that_fails_answers_500_and_logs_no_number(voice, monkeypatch, caplog):
    """A database failure while recording a call's status: Twilio hears 500, the log names the
    exception's type only (a database error's text can carry the number), and nothing is kept."""
    from bot.channels.voice import calls as voice_calls

    row_id, occ = voice.checkin(number="+3225550199")
    call = await voice.call(row_id)

    def broken(session, event, now):
        session.add(CheckinAttempt(occurrence_id=occ, person_id=1, step="call", outcome="half-written"))
        session.flush()
        raise RuntimeError("INSERT failed for +3225550199")

    monkeypatch.setattr(voice_calls, "status", broken)
    with caplog.at_level("INFO"):
        response = await call.status("no-answer")
    assert response.status_code == 500
    assert "RuntimeError" in caplog.text and "3225550199" not in caplog.text
    assert ("call", "half-written") not in voice.attempts(occ)
