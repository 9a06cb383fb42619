"""A broadcast on WhatsApp through the real twilio client and Prism: inside the 24-hour window
a text with its answer buttons as numbered lines; outside it the approved "broadcast"
Content template (bot/channels/twilio/templates.example.json), never a body."""
from __future__ import annotations

import pytest

import json
from datetime import datetime, time, timezone

from sqlalchemy import select, update

from handlers.broadcasts import Audience, confirm, create, send_broadcasts
from handlers.i18n import catalog
from models import ConversationState, Person
from models.base import TZ
from models.db import transaction
from models.network import neighbourhood_by_slug
from tests.test_twilio import age_window, invite, join, make_world  # noqa: F401  (make_world: a fixture)
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import db_url  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("no_quiet_hours")  # the real clock: any hour

BROADCAST_SID = "HX" + "7" * 32
COMING = "I'm coming"
TEMPLATES = {"broadcast": {"nl": {"content_sid": BROADCAST_SID, "variables": {"1": "neighbourhood", "2": "text"}}}}


async def test_a_broadcast_goes_as_text_in_the_window_and_as_its_template_outside(make_world):
    world = await make_world(TEMPLATES)
    await join(world, "Fatima", "nl", "whatsapp", invite(world.rt, "coordinator"))
    await join(world, "Jan", "nl", "whatsapp")
    await join(world, "Maria", "nl", "whatsapp")
    age_window(world, "Jan", 25)  # Jan last wrote yesterday
    with transaction(world.rt.sessions) as s:  # Maria is done with her questions (no "answer that first")
        s.execute(update(ConversationState).values(step="", data={}))
    now = datetime.combine(datetime.now(TZ).date(), time(13, 0), tzinfo=TZ).astimezone(timezone.utc)
    with transaction(world.rt.sessions) as s:
        nb = neighbourhood_by_slug(s, "demo")
        fatima = s.scalar(select(Person).where(Person.first_name == "Fatima"))
        bc = create(s, nb, fatima, {"nl": "Buurtfeest zaterdag om 14 uur op het plein."}, "nl", Audience(),
                    buttons=("coming",))
        confirm(s, bc, now)
    with transaction(world.rt.sessions) as s:
        send_broadcasts(s, now)
    await world.drain()
    to_jan = world.edge.messages(world.address("Jan"))[-1]
    assert to_jan["ContentSid"] == BROADCAST_SID and "Body" not in to_jan
    variables = json.loads(to_jan["ContentVariables"])
    # the template says whose message it is ({{1}}); {{2}} is the announcement alone, Demo named once
    assert variables == {"1": "Demo", "2": "Buurtfeest zaterdag om 14 uur op het plein."}
    to_maria = world.edge.messages(world.address("Maria"))[-1]
    assert "ContentSid" not in to_maria and "Buurtfeest zaterdag" in to_maria["Body"]
    assert f"1. {catalog('nl').gettext(COMING)}" in to_maria["Body"]
    assert not world.edge.refused_by_spec()


def test_the_example_registry_has_a_broadcast_template_in_nl_fr_and_en():
    from pathlib import Path

    from bot.channels.twilio.templates import Templates

    registry = Templates.load(Path(__file__).resolve().parent.parent / "bot/channels/twilio/templates.example.json")
    for language in ("nl", "fr", "en"):
        found = registry.find("broadcast", language)
        assert found is not None and found is not registry.find("notify", language)
        assert set(found.variables.values()) == {"neighbourhood", "text"}
