"""buurtbot on WhatsApp and SMS: signed Twilio webhooks into the ASGI app, replies through the
real twilio client to Prism, which checks each one against Twilio's own OpenAPI spec."""
from __future__ import annotations

import shutil

import pytest
import pytest_asyncio

from bot.runtime import Runtime
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, settings_for


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


async def test_a_first_whatsapp_message_gets_the_language_choice(world):
    got = await world.say("Maria", "Hallo")
    assert len(got) == 1 and "1. Nederlands" in got[0]
