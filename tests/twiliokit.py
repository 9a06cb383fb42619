"""Driving buurtbot's WhatsApp and SMS channels as Twilio would: signed webhooks posted to the
ASGI app, replies sent by the real twilio client to Prism (tests/twilio_edge.py)."""
from __future__ import annotations

import itertools
import re
import uuid
from urllib.parse import urlencode

import shutil

import httpx
import pytest
import pytest_asyncio
from twilio.request_validator import RequestValidator

from bot.channels.twilio.app import MESSAGES_PATH, STATUS_PATH
from bot.channels.twilio.phones import twilio_address
from bot.demo import seed
from bot.runtime import Runtime
from bot.settings import Settings
from bot.web import create_app
from tests.twilio_edge import ACCOUNT_SID, AUTH_TOKEN

PUBLIC = "https://buurt.example.org"
WA_FROM, SMS_FROM = "whatsapp:+3225550100", "+3225550101"
_numbers = itertools.count(1)


def settings_for(edge_url: str, database_url: str, **overrides) -> Settings:
    values = dict(database_url=database_url, twilio_account_sid=ACCOUNT_SID, twilio_auth_token=AUTH_TOKEN,
                  twilio_whatsapp_from=WA_FROM, twilio_sms_from=SMS_FROM, twilio_api_base_url=edge_url,
                  public_base_url=PUBLIC, twilio_rate_whatsapp=1000.0, twilio_rate_sms=1000.0,
                  rate_limit_per_minute=1000)
    values.update(overrides)
    return Settings(_env_file=None, **values)


def new_number() -> str:
    """A Belgian mobile number of its own for each person in a test run."""
    return f"+32470{next(_numbers) % 1000000:06d}"


def sign(url: str, form: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, form)


class TwilioWorld:
    """The app, its Twilio senders and people with phones. ``say`` posts a signed inbound
    message and runs the senders until the outbox is empty; ``inbox`` is what reached a phone."""

    def __init__(self, rt: Runtime, edge) -> None:
        self.rt, self.edge = rt, edge
        rt.twilio.connect()  # the senders are driven by the tests, not started
        self.app = create_app(rt, start_scheduler=False)
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=PUBLIC)
        self.phones: dict[str, tuple[str, str]] = {}  # name -> (channel, number)
        with rt.sessions() as s, s.begin():
            seed(s)

    def phone(self, name: str, channel: str = "whatsapp") -> tuple[str, str]:
        if name not in self.phones:
            self.phones[name] = (channel, new_number())
        return self.phones[name]

    def address(self, name: str) -> str:
        channel, number = self.phones[name]
        return twilio_address(channel, number)

    def inbound_form(self, name: str, text: str = "", **extra) -> dict:
        channel, number = self.phones[name]
        form = {
            "MessageSid": "SM" + uuid.uuid4().hex,
            "AccountSid": ACCOUNT_SID,
            "From": twilio_address(channel, number),
            "To": WA_FROM if channel == "whatsapp" else SMS_FROM,
            "Body": text,
            "NumMedia": "0",
            "NumSegments": "1",
            "SmsStatus": "received",
            "ApiVersion": "2010-04-01",
        }
        if channel == "whatsapp":
            form.update(ProfileName=name, WaId=number.lstrip("+"))
        form.update(extra)
        return form

    async def post(self, path: str, form: dict, signature: str | None = None, query: str = "") -> httpx.Response:
        url = PUBLIC + path + (f"?{query}" if query else "")
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if signature is None:
            signature = sign(url, form)
        if signature:
            headers["X-Twilio-Signature"] = signature
        return await self.http.post(path + (f"?{query}" if query else ""), content=urlencode(form), headers=headers)

    async def drain(self) -> None:
        """Run every sender until nothing is due."""
        for _round in range(50):
            worked = False
            for sender in self.rt.twilio.senders.values():
                worked |= await sender.drain_once(wait=True)
            if not worked:
                return
        raise AssertionError("the outbox never emptied")

    async def say(self, name: str, text: str = "", channel: str | None = None, **extra) -> list[str]:
        """``name`` sends ``text``; returns the texts they received because of it."""
        if name not in self.phones:
            self.phone(name, channel or "whatsapp")
        before = len(self.inbox(name))
        response = await self.post(MESSAGES_PATH, self.inbound_form(name, text, **extra))
        assert response.status_code == 200, response.text
        assert "<Response>" in response.text
        await self.drain()
        return self.inbox(name)[before:]

    def inbox(self, name: str) -> list[str]:
        """Bodies (or template variables) of every message created for ``name``."""
        return [m.get("Body") or m.get("ContentVariables", "") for m in self.edge.messages(self.address(name))]

    def last(self, name: str) -> str:
        got = self.inbox(name)
        assert got, f"{name} received nothing"
        return got[-1]

    def option(self, name: str, label_part: str) -> str:
        """The number in front of the newest option line containing ``label_part``."""
        for body in reversed(self.inbox(name)):
            for line in body.splitlines():
                m = re.match(r"\u200f?(\d+)\. (.*)", line)
                if m and label_part.lower() in m.group(2).lower():
                    return m.group(1)
        raise AssertionError(f"{name} has no option {label_part!r}: {self.inbox(name)[-2:]}")

    async def choose(self, name: str, label_part: str) -> list[str]:
        return await self.say(name, self.option(name, label_part))

    async def status(self, outbox_id: int, sid: str, status: str, error_code: str | None = None) -> httpx.Response:
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01"}
        if error_code:
            form["ErrorCode"] = error_code
        return await self.post(STATUS_PATH, form, query=f"outbox={outbox_id}")

    async def close(self) -> None:
        await self.http.aclose()
        await self.rt.twilio.stop()


# ---- fixtures: a Twilio world on a fresh SQLite copy (import them where used) ---------------
@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "twilio.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest_asyncio.fixture
async def world(twilio_edge, db_url):
    w = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, db_url)), twilio_edge)
    yield w
    await w.close()
