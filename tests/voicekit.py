"""Driving buurtbot's phone calls as Twilio would: the voice sender places calls through the
real twilio client to Prism (tests/twilio_edge.py); the test then plays Twilio's part -- it
fetches the TwiML from the call's ``Url``, posts the pressed key to the Gather ``action`` and
the call's progress to its ``StatusCallback``, every request signed with the account's token."""
from __future__ import annotations

import itertools
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit

import httpx
import pytest_asyncio

from bot.demo import seed
from bot.runtime import Runtime
from bot.web import create_app
from models import ChannelIdentity, Outbox, Person
from models.network import neighbourhood_by_slug
from models.schedules import CheckinAttempt, CheckinOccurrence, CheckinPlan
from tests.twiliokit import PUBLIC, db_url, new_number, settings_for, sign  # noqa: F401  (db_url: a fixture)
from tests.twilio_edge import ACCOUNT_SID

VOICE_FROM = "+3225550102"
NOW = datetime(2026, 12, 7, 9, 0, tzinfo=timezone.utc)
PROMPTS = {
    "nl": "Goedemorgen {name}, met Fatima van het wijkhuis. Alles goed? Druk op 1 als alles goed is. "
          "Druk op 2 als u graag gebeld wordt. Druk op 3 als u hulp nodig hebt.",
    "fr": "Bonjour {name}, c'est Fatima de la maison de quartier. Tout va bien ? Appuyez sur 1 si tout va bien. "
          "Appuyez sur 2 pour être rappelé. Appuyez sur 3 si vous avez besoin d'aide.",
}
_keys = itertools.count(1)


def voice_settings(edge_url: str, database_url: str, **overrides):
    values = dict(twilio_voice_from=VOICE_FROM, twilio_rate_voice=1000.0, twilio_whatsapp_from=None,
                  twilio_sms_from=None)
    values.update(overrides)
    return settings_for(edge_url, database_url, **values)


def write_checkin(sessions, name: str = "Maria", language: str = "nl", number: str | None = None,
                  options: list[dict] | None = None) -> tuple[int, int]:
    """A person enrolled for a check-in by phone, and the voice row handlers.checkins.contact
    writes for it (SCHED.md "Voice rows"): returns (outbox row id, occurrence id)."""
    number = number or new_number()
    with sessions() as s, s.begin():
        hood = neighbourhood_by_slug(s, "demo")
        person = Person(first_name=name, language=language, neighbourhood_id=hood.id, is_resident=True, phone=number)
        s.add(person)
        s.flush()
        identity = ChannelIdentity(channel="voice", address=number, person_id=person.id, language=language)
        plan = CheckinPlan(person_id=person.id, neighbourhood_id=hood.id, channel="voice", days=[0],
                           time_local="10:00", sender_name="Fatima")
        s.add_all([identity, plan])
        s.flush()
        occ = CheckinOccurrence(key=f"checkin:{plan.id}:2026-12-07T10:00:{next(_keys)}", plan_id=plan.id,
                                person_id=person.id, due_at=NOW, status="waiting")
        s.add(occ)
        s.flush()
        if options is None:
            options = [{"label": "OK", "payload": f"ci:ok:{occ.id}"},
                       {"label": "Call", "payload": f"ci:call:{occ.id}"},
                       {"label": "Help", "payload": f"ci:help:{occ.id}"}]
        row = Outbox(idempotency_key=f"checkin:{occ.id}:checkin", channel="voice", address=number,
                     identity_id=identity.id, about_person_id=person.id, language=language, purpose="checkin",
                     text=PROMPTS.get(language, PROMPTS["nl"]).format(name=name), options=options)
        s.add(row)
        s.flush()
        return row.id, occ.id


class Call:
    """One call Twilio placed: its form as created, and what Twilio would post back."""

    def __init__(self, world: "VoiceWorld", form: dict) -> None:
        self.world, self.form, self.sid = world, form, form["sid"]

    def params(self, **extra) -> dict:
        base = {"CallSid": self.sid, "AccountSid": ACCOUNT_SID, "From": VOICE_FROM, "To": self.form["To"],
                "Direction": "outbound-api", "ApiVersion": "2010-04-01"}
        base.update(extra)
        return base

    async def twiml(self, answered_by: str = "human", **extra) -> ET.Element:
        response = await self.world.post(self.form["Url"], self.params(CallStatus="in-progress",
                                                                       AnsweredBy=answered_by, **extra))
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        return ET.fromstring(response.text)

    async def press(self, action: str, digits: str | None) -> ET.Element:
        extra = {"Digits": digits} if digits is not None else {}
        response = await self.world.post(action, self.params(CallStatus="in-progress", **extra))
        assert response.status_code == 200, response.text
        return ET.fromstring(response.text)

    async def status(self, status: str, **extra) -> httpx.Response:
        return await self.world.post(self.form["StatusCallback"], self.params(CallStatus=status, **extra))


class VoiceWorld:
    """The app with its voice channel (sender driven by the test), a seeded neighbourhood and
    people enrolled for a check-in by phone."""

    def __init__(self, rt: Runtime, edge) -> None:
        self.rt, self.edge = rt, edge
        rt.voice.connect()
        rt.voice.now = lambda: NOW
        self.app = create_app(rt, start_scheduler=False)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=PUBLIC)
        with rt.sessions() as s, s.begin():
            seed(s)

    def checkin(self, name: str = "Maria", language: str = "nl", number: str | None = None,
                options: list[dict] | None = None) -> tuple[int, int]:
        return write_checkin(self.rt.sessions, name, language, number, options)

    async def drain(self) -> None:
        for _round in range(50):
            if not await self.rt.voice.sender.drain_once(wait=True):
                return
        raise AssertionError("the voice outbox never emptied")

    async def call(self, row_id: int) -> Call:
        """Drain the sender; the call placed for ``row_id``."""
        await self.drain()
        with self.rt.sessions() as s:
            row = s.get(Outbox, row_id)
            sid, address = row.platform_message_id, row.address
        calls = [c for c in self.edge.calls(address) if c["sid"] == sid]
        assert len(calls) == 1, (sid, self.edge.calls(address))
        return Call(self, calls[0])

    async def post(self, url: str, params: dict, signature: str | None = None,
                   method: str = "POST") -> httpx.Response:
        """Post (or get) ``url`` as Twilio does, signed unless ``signature`` says otherwise."""
        assert url.startswith(PUBLIC), url
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        headers = {}
        if signature is None:
            signature = sign(url, params if method == "POST" else {})
        if signature:
            headers["X-Twilio-Signature"] = signature
        if method == "GET":
            return await self.http.get(path, headers=headers)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return await self.http.post(path, content=urlencode(params), headers=headers)

    def attempts(self, occ_id: int) -> list[tuple[str, str]]:
        """(step, outcome) of every attempt of an occurrence, in order."""
        with self.rt.sessions() as s:
            return [(a.step, a.outcome) for a in s.query(CheckinAttempt).filter_by(occurrence_id=occ_id)
                    .order_by(CheckinAttempt.id)]

    def row(self, row_id: int) -> Outbox:
        with self.rt.sessions() as s:
            row = s.get(Outbox, row_id)
            s.expunge(row)
            return row

    async def close(self) -> None:
        await self.http.aclose()
        await self.rt.voice.stop()


def new_sid() -> str:
    return "CA" + uuid.uuid4().hex


@pytest_asyncio.fixture
async def voice(twilio_edge, db_url):  # noqa: F811
    w = VoiceWorld(Runtime.build(voice_settings(twilio_edge.url, db_url)), twilio_edge)
    yield w
    await w.close()
