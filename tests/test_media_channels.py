"""Photos and voice notes cross channels (bot/channels/media.py).

The real python-telegram-bot against the fake Bot API (getFile, file download, multipart
uploads checked against Telegram's spec), the real twilio client against Prism, and a small
server that plays Twilio's media host: it wants the account's basic auth and redirects to a
"storage" host that refuses requests carrying credentials, as the signed storage URL does.
"""
from __future__ import annotations

import base64
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlparse

import pytest
from sqlalchemy import select

from bot.channels.media import Media, MediaUnavailable, parse, twilio_ref
from bot.channels.telegram.sender import TelegramSender
from bot.channels.twilio.inbound import media_of
from bot.runtime import Runtime
from handlers.i18n import catalog
from models import HelpRequest, Outbox, Person
from models.privacy import erase
from tests.telegram_fake import FAKE_JPEG, FAKE_OGG, telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import settings_for as telegram_settings
from tests.twilio_edge import ACCOUNT_SID, AUTH_TOKEN, prism, twilio_edge  # noqa: F401  (fixtures)
from tests.fakeclock import FakeClock
from tests.flowkit import dispatcher  # noqa: F401  (a dispatcher without a rate limit)
from tests.twiliokit import PUBLIC, TwilioWorld, new_number, settings_for as twilio_settings

PNG = b"\x89PNG\r\n\x1a\n" + b"buurtbot-second-photo" * 30


class TwilioMediaHost:
    """Twilio's media URLs: basic auth with the account's SID and token, then a redirect to a
    storage host of another origin, which serves the bytes only to a request without credentials."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[bytes, str]] = {}
        self.seen: list[tuple[str, str | None]] = []  # (path, Authorization header)
        host = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                auth = self.headers.get("Authorization")
                host.seen.append((self.path, auth))
                name = self.path.rsplit("/", 1)[-1].split("?", 1)[0]
                if self.path.startswith("/storage/"):
                    if auth is not None or name not in host.files or "X-Amz-Signature=" not in self.path:
                        return self._answer(400, b"bad storage request", "text/plain")
                    content, content_type = host.files[name]
                    return self._answer(200, content, content_type)
                expected = "Basic " + base64.b64encode(f"{ACCOUNT_SID}:{AUTH_TOKEN}".encode()).decode()
                if auth != expected:
                    return self._answer(401, b'{"code": 20003}', "application/json")
                if name not in host.files:
                    return self._answer(404, b'{"code": 20404}', "application/json")
                self.send_response(307)
                self.send_header("Location", f"{host.storage}/storage/{name}?X-Amz-Signature=abc")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def _answer(self, status, body, content_type):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
        for server in self.servers:
            threading.Thread(target=server.serve_forever, daemon=True).start()
        # the same handler answers both; "localhost" vs "127.0.0.1" makes them two origins
        self.url = f"http://127.0.0.1:{self.servers[0].server_address[1]}"
        self.storage = f"http://localhost:{self.servers[1].server_address[1]}"

    def add(self, name: str, content: bytes, content_type: str) -> str:
        self.files[name] = (content, content_type)
        return f"{self.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/{name}"

    def close(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def media_host():
    host = TwilioMediaHost()
    yield host
    host.close()


@pytest.mark.parametrize("where", ["{host}/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME9",  # another host
                                   "http://api.twilio.com/2010-04-01/Accounts/AC1/Media/ME9",  # not https
                                   "https://api.twilio.com.{hostname}/Media/ME9"])  # a look-alike
async def test_a_twilio_reference_to_another_host_is_not_fetched_with_the_credentials(media_host, where):
    """A MediaUrl is fetched with the account's basic auth only from Twilio's API host: any
    other reference (a forged form, a row written by hand) is left out, unasked."""
    media = Media(b"secret", PUBLIC, twilio_auth=(ACCOUNT_SID, AUTH_TOKEN))
    url = where.format(host=media_host.url, hostname=urlparse(media_host.url).hostname)
    media_host.add("ME9", FAKE_JPEG, "image/jpeg")
    with pytest.raises(MediaUnavailable) as refused:
        await media.fetch(parse(twilio_ref(url, "image/jpeg")))
    assert refused.value.lasting and media_host.seen == []
    # the same medium, with the fake host as the media base, is fetched (the check above is not vacuous)
    media.twilio_media_base = media_host.url
    assert (await media.fetch(parse(twilio_ref(media_host.add("ME9", FAKE_JPEG, "image/jpeg"), "image/jpeg")))
            ).content == FAKE_JPEG


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "media.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def queue(rt: Runtime, channel: str, address: str, media: list[str], about: int | None = None) -> int:
    with rt.sessions() as s, s.begin():
        row = Outbox(idempotency_key=f"media:{channel}:{address}", channel=channel, address=address, language="nl",
                     purpose="reply", text="Maria stuurde dit mee met de vraag:", options=[], media=media,
                     about_person_id=about)
        s.add(row)
        s.flush()
        return row.id


def test_references_say_where_a_medium_comes_from():
    form = {"NumMedia": "2", "MediaUrl0": "https://api.twilio.com/m/ME1", "MediaContentType0": "image/jpeg",
            "MediaUrl1": "https://api.twilio.com/m/ME2", "MediaContentType1": "audio/ogg"}
    kept = [parse(r) for r in media_of(form)]
    assert [(r.origin, r.kind, r.locator) for r in kept] == [
        ("twilio", "photo", "https://api.twilio.com/m/ME1"), ("twilio", "voice", "https://api.twilio.com/m/ME2")]
    ref = parse(twilio_ref("https://api.twilio.com/m/ME3", "image/png"))
    assert (ref.origin, ref.kind, ref.content_type, ref.locator) == ("twilio", "photo", "image/png",
                                                                     "https://api.twilio.com/m/ME3")
    assert parse("telegram:voice:AwACAgQ").content_type == "audio/ogg"
    assert parse("location:50.836000,4.389000") is None


async def test_a_whatsapp_message_with_two_photos_reaches_a_telegram_volunteer_as_two_photos(
        telegram_fake, db_url, media_host):
    rt = Runtime.build(telegram_settings(telegram_fake, db_url, twilio_account_sid=ACCOUNT_SID,
                                         twilio_auth_token=AUTH_TOKEN))
    rt.media.twilio_media_base = media_host.url  # the fake stands in for https://api.twilio.com
    assert rt.telegram.sender.media is rt.media  # wired once, for every sender
    form = {"NumMedia": "2", "MediaUrl0": media_host.add("ME1", FAKE_JPEG, "image/jpeg"),
            "MediaContentType0": "image/jpeg", "MediaUrl1": media_host.add("ME2", PNG, "image/png"),
            "MediaContentType1": "image/png"}
    row_id = queue(rt, "telegram", "7001", list(media_of(form)))
    async with telegram_fake.make_bot() as bot:
        sender = TelegramSender(bot, rt.sessions, 1000.0, 1000.0)
        sender.media = rt.media
        await sender.drain_once()
    photos = telegram_fake.calls_of("sendPhoto", chat_id=7001)
    assert [p.params["photo"].data for p in photos] == [FAKE_JPEG, PNG]
    assert photos[0].params["caption"] == "Maria stuurde dit mee met de vraag:" and "caption" not in photos[1].params
    assert not telegram_fake.calls_of("sendMessage", chat_id=7001)  # the text went as the caption
    # the media host was asked with the account's credentials, the storage host without any
    assert [auth is not None for path, auth in media_host.seen] == [True, False, True, False]
    with rt.sessions() as s:
        assert s.get(Outbox, row_id).status == "sent"


async def test_a_twilio_voice_note_becomes_a_telegram_voice_note_and_a_lost_medium_is_left_out(
        telegram_fake, db_url, media_host):
    rt = Runtime.build(telegram_settings(telegram_fake, db_url, twilio_account_sid=ACCOUNT_SID,
                                         twilio_auth_token=AUTH_TOKEN))
    rt.media.twilio_media_base = media_host.url  # the fake stands in for https://api.twilio.com
    gone = f"{media_host.url}/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME404"
    queue(rt, "telegram", "7002", [twilio_ref(gone, "image/jpeg"),
                                   twilio_ref(media_host.add("ME3", FAKE_OGG, "audio/ogg"), "audio/ogg")])
    async with telegram_fake.make_bot() as bot:
        sender = TelegramSender(bot, rt.sessions, 1000.0, 1000.0)
        sender.media = rt.media
        await sender.drain_once()
    (voice,) = telegram_fake.calls_of("sendVoice", chat_id=7002)
    assert voice.params["voice"].data == FAKE_OGG
    assert not telegram_fake.calls_of("sendPhoto", chat_id=7002)


async def test_each_telegram_medium_and_the_options_after_them_take_a_slot_of_their_own(
        telegram_fake, db_url, media_host):
    """Two photos and a question with options are three messages to one chat: each waits for
    the chat's gap (Telegram: about one message a second per chat), none goes in the slot of
    the one before."""
    per_chat = 2.0  # a chat's slot every 0.5 s
    rt = Runtime.build(telegram_settings(telegram_fake, db_url, twilio_account_sid=ACCOUNT_SID,
                                         twilio_auth_token=AUTH_TOKEN))
    rt.media.twilio_media_base = media_host.url  # the fake stands in for https://api.twilio.com
    row_id = queue(rt, "telegram", "7003", [twilio_ref(media_host.add("ME5", FAKE_JPEG, "image/jpeg"), "image/jpeg"),
                                            twilio_ref(media_host.add("ME6", PNG, "image/png"), "image/png")])
    with rt.sessions() as s, s.begin():
        s.get(Outbox, row_id).options = [{"label": "Ik help", "payload": "claim:1"}]
    clock = FakeClock()  # the sender paces by it and the fake stamps arrivals on it: no wall clock
    telegram_fake.clock = clock
    async with telegram_fake.make_bot() as bot:
        sender = TelegramSender(bot, rt.sessions, 1000.0, per_chat, clock=clock, sleep=clock.sleep)
        sender.media = rt.media
        await sender.drain_once()
    sent = [r for r in telegram_fake.request_log if str(r.params.get("chat_id")) == "7003" and r.status == 200]
    assert [r.method for r in sent] == ["sendPhoto", "sendPhoto", "sendMessage"]
    gaps = [later.time - earlier.time for earlier, later in zip(sent, sent[1:])]
    assert min(gaps) >= 1 / per_chat, gaps  # a whole gap each: the clock only moves when the sender waits
    with rt.sessions() as s:
        assert s.get(Outbox, row_id).status == "sent"


@pytest.fixture
async def both(telegram_fake, twilio_edge, db_url):
    """One runtime with Telegram (the fake) and WhatsApp/SMS (Prism), as `buurtbot run` has."""
    rt = Runtime.build(twilio_settings(twilio_edge.url, db_url, telegram_bot_token=telegram_fake.token,
                                       telegram_base_url=telegram_fake.base_url, telegram_mode="polling"))
    await rt.telegram.app.bot.initialize()
    world = TwilioWorld(rt, twilio_edge)
    yield world
    await rt.telegram.app.bot.shutdown()
    await world.http.aclose()


async def test_a_telegram_photo_and_voice_reach_a_whatsapp_volunteer_by_links_that_die_with_delete(
        both, telegram_fake, twilio_edge):
    rt, world = both.rt, both
    photo, voice = telegram_fake.add_file("photo", FAKE_JPEG), telegram_fake.add_file("voice", FAKE_OGG)
    with rt.sessions() as s, s.begin():
        maria = Person(first_name="Maria", language="nl")
        s.add(maria)
        s.flush()
        maria_id = maria.id
    number = new_number()
    queue(rt, "whatsapp", number, [f"telegram:photo:{photo.file_id}", "location:50.836000,4.389000",
                                   f"telegram:voice:{voice.file_id}"], about=maria_id)
    await world.drain()
    sent = twilio_edge.messages(f"whatsapp:{number}")
    assert sent[0]["Body"] == "Maria stuurde dit mee met de vraag:" and "MediaUrl" not in sent[0]
    urls = [m["MediaUrl"] for m in sent[1:]]
    assert len(urls) == 2 and all(u.startswith(f"{PUBLIC}/media/") for u in urls)
    paths = [urlparse(u).path for u in urls]
    got = [await world.http.get(p) for p in paths]
    assert [(r.status_code, r.content, r.headers["content-type"]) for r in got] == [
        (200, FAKE_JPEG, "image/jpeg"), (200, FAKE_OGG, "audio/ogg")]
    assert "no-store" in got[0].headers["cache-control"]
    # unguessable: a token changed in one character, or made for another row, is refused
    token = paths[0].rsplit("/", 1)[1]
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert (await world.http.get(f"/media/{forged}")).status_code == 404
    other = Media(b"another secret", PUBLIC).token(1, 0)
    assert (await world.http.get(f"/media/{other}")).status_code == 404
    # /delete empties the row's media: the links are gone
    with rt.sessions() as s, s.begin():
        erase(s, s.get(Person, maria_id))
    assert [(await world.http.get(p)).status_code for p in paths] == [404, 404]


async def test_whatsapp_media_reach_whatsapp_through_our_links_fetched_with_the_account(
        both, twilio_edge, media_host):
    """Twilio's own MediaUrls need the account's credentials, so they are served by us too."""
    rt, world = both.rt, both
    rt.media.twilio_media_base = media_host.url
    number = new_number()
    queue(rt, "whatsapp", number, [twilio_ref(media_host.add("ME7", FAKE_JPEG, "image/jpeg"), "image/jpeg"),
                                   twilio_ref(media_host.add("ME8", PNG, "image/png"), "image/png")])
    await world.drain()
    urls = [m["MediaUrl"] for m in twilio_edge.messages(f"whatsapp:{number}") if "MediaUrl" in m]
    assert len(urls) == 2  # every medium, not only the first
    got = [await world.http.get(urlparse(u).path) for u in urls]
    assert [(r.status_code, r.content) for r in got] == [(200, FAKE_JPEG), (200, PNG)]
    assert not any(media_host.url in u for u in urls)


async def test_each_whatsapp_medium_takes_a_slot_of_its_own(twilio_edge, db_url):
    """WhatsApp carries one medium a message: a row with a text and two photos is three messages,
    each in a slot of its own at the sender's rate -- never in the slot of another row's message
    (the round and the row's later messages pace at once), and never counted twice (Plan.cost)."""
    rate = 2.0  # a slot every 0.5 s
    rt = Runtime.build(twilio_settings(twilio_edge.url, db_url, twilio_rate_whatsapp=rate))
    world = TwilioWorld(rt, twilio_edge)
    with_media, plain = new_number(), new_number()
    row_id = queue(rt, "whatsapp", with_media, ["telegram:photo:AgACAgQ1", "telegram:photo:AgACAgQ2"])
    queue(rt, "whatsapp", plain, [])
    sender = rt.twilio.senders["whatsapp"]
    clock = FakeClock()  # the sender paces by it and the edge stamps arrivals on it: no wall clock
    sender.clock, sender.sleep, twilio_edge.clock = clock, clock.sleep, clock
    start = clock()
    with rt.sessions() as s:  # the row's own slot covers its first message; the others pace their own
        assert sender.prepare(s, s.get(Outbox, row_id), s.get(Outbox, row_id).created_at).cost == 1.0
    twilio_edge.reset()
    await world.drain()
    await world.http.aclose()
    assert len(twilio_edge.messages(f"whatsapp:{with_media}")) == 3
    assert len(twilio_edge.messages(f"whatsapp:{plain}")) == 1
    arrived = sorted(r["at"] for r in twilio_edge.requests if r["path"].endswith("/Messages.json"))
    assert len(arrived) == 4
    # Sends of a round go out concurrently, so an arrival is stamped at or after its slot (the
    # clock may have moved on for the next one meanwhile), never before: the i-th to arrive came
    # at least i whole slots after the start, since the clock only moves when the sender waits.
    assert all(at >= start + i / rate for i, at in enumerate(arrived)), arrived


async def test_a_link_expires():
    now = [1_000_000.0]
    media = Media(b"secret", PUBLIC, clock=lambda: now[0], ttl=60)
    token = media.token(42, 3)
    assert media.verify(token) == (42, 3)
    now[0] += 61
    assert media.verify(token) is None
    assert media.verify("not-a-token") is None and media.verify("") is None


def test_a_token_has_one_spelling():
    """The last character of a token carries two spare bits the decoder ignores: a token with
    them changed is another string for the same link, refused (a forged one must never pass)."""
    media = Media(b"secret", PUBLIC)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for position in range(8):
        token = media.token(42, position)
        assert media.verify(token) == (42, position)
        last = alphabet.index(token[-1])
        for spare in (1, 2, 3):
            assert media.verify(token[:-1] + alphabet[last ^ spare]) is None


async def test_an_sms_volunteer_gets_a_link_to_each_medium_in_their_language(both, telegram_fake, twilio_edge):
    """No MMS in Belgium: each medium becomes a line with a link that lives a few days."""
    rt, world = both.rt, both
    photo = telegram_fake.add_file("photo", FAKE_JPEG)
    with rt.sessions() as s, s.begin():
        maria = Person(first_name="Maria", language="nl")
        s.add(maria)
        s.flush()
        maria_id = maria.id
    number = new_number()
    queue(rt, "sms", number, [f"telegram:photo:{photo.file_id}", "location:50.836000,4.389000"], about=maria_id)
    await world.drain()
    (sms,) = twilio_edge.messages(number)
    assert "MediaUrl" not in sms
    first, line = sms["Body"].split("\n")
    assert first == "Maria stuurde dit mee met de vraag:"
    label = catalog("nl").gettext("Photo: {link}").split("{link}")[0]
    assert line.startswith(label + f"{PUBLIC}/media/")
    path = urlparse(line[len(label):]).path
    got = await world.http.get(path)
    assert (got.status_code, got.content) == (200, FAKE_JPEG)
    assert rt.media.verify(path.rsplit("/", 1)[1]) is not None
    with rt.sessions() as s, s.begin():
        erase(s, s.get(Person, maria_id))
    assert (await world.http.get(path)).status_code == 404


async def test_the_whole_way_two_whatsapp_photos_reach_the_telegram_volunteer_who_claims(
        both, telegram_fake, media_host):
    """Maria asks on WhatsApp with two photos; Jan, on Telegram, claims and gets both."""
    from bot.demo import seed
    from models import ChannelIdentity
    from models.base import utcnow
    from tests.tgkit import TelegramPeople, running

    rt, world = both.rt, both
    rt.media.twilio_media_base = media_host.url
    people = TelegramPeople(telegram_fake, rt)
    jan = people.user("Jan")
    number = new_number()
    with rt.sessions() as s, s.begin():
        nb = seed(s)
        volunteer = Person(neighbourhood_id=nb.id, first_name="Jan", language="nl", languages_spoken=["nl"],
                           is_volunteer=True, volunteer_status="approved", consent_at=utcnow(), consent_version="t")
        resident = Person(neighbourhood_id=nb.id, first_name="Maria", language="nl", is_resident=True,
                          consent_at=utcnow(), consent_version="t")
        s.add_all([volunteer, resident])
        s.flush()
        s.add_all([ChannelIdentity(channel="telegram", address=str(jan.id), person_id=volunteer.id, language="nl",
                                   last_inbound_at=utcnow()),
                   ChannelIdentity(channel="whatsapp", address=number, person_id=resident.id, language="nl",
                                   last_inbound_at=utcnow())])
    world.phones["Maria"] = ("whatsapp", number)
    photos = {"NumMedia": "2", "MediaUrl0": media_host.add("ME21", FAKE_JPEG, "image/jpeg"),
              "MediaContentType0": "image/jpeg", "MediaUrl1": media_host.add("ME22", PNG, "image/png"),
              "MediaContentType1": "image/png"}
    async with running(rt):
        await world.say("Maria", "", ButtonPayload="ask")
        await world.say("Maria", "3")  # a small repair
        await world.say("Maria", "Deze lamp en deze kast", **photos)
        for answer in ("3", "Kerkstraat 12", "ja"):
            await world.say("Maria", answer)
        await people.press("Jan", "claim:")
        sent = await telegram_fake.await_calls("sendPhoto", 2, timeout=10, chat_id=jan.id)
    assert [p.params["photo"].data for p in sent] == [FAKE_JPEG, PNG]
    assert "Maria" in sent[0].params["caption"]


def test_the_next_photos_of_an_album_join_the_draft_without_a_word(chat):
    """Telegram sends an album, and Twilio a WhatsApp message with several media, as one message a
    medium: those after the first reach a draft that has moved on, and must not be lost."""
    from handlers.core import Inbound

    chat.join("maria", "Maria", "nl", "role:help")
    chat.send("maria", payload="ask")
    chat.send("maria", "3")

    def photo(ref: str, text: str = "") -> list[dict]:
        assert chat.dispatcher.handle(Inbound("demo", "maria", text, None, platform_message_id=ref,
                                              media=(f"telegram:photo:{ref}",))) == "ok"
        return chat.new("maria")

    when = photo("A1", "Deze lamp")
    assert [o["payload"] for o in when[-1]["options"]][:2] == ["when:today", "when:tomorrow"]
    assert photo("A2") == []  # kept, without a second "When?"
    chat.send("maria", payload="when:week")
    chat.send("maria", "Kerkstraat 12")
    assert photo("A3") == []
    chat.send("maria", "ja")
    with chat.sessions() as s:
        req = s.scalar(select(HelpRequest))
    assert req.description == "Deze lamp"
    assert req.media == ["telegram:photo:A1", "telegram:photo:A2", "telegram:photo:A3"]
