"""Table-driven inbound webhooks (tests/testdata/twilio_inbound.json), in the style of RapidPro
courier's handler tests: each payload is posted, signed or not, to the real ASGI app, and what
the channel adapter made of it is checked, as is what reached the database."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.channels.twilio.app import MESSAGES_PATH
from bot.channels.twilio.inbound import to_inbound
from bot.runtime import Runtime
from models import ChannelIdentity, InboundLog
from tests.twilio_edge import ACCOUNT_SID, prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, settings_for

CASES = json.loads((Path(__file__).parent / "testdata" / "twilio_inbound.json").read_text())["cases"]


@pytest_asyncio.fixture
async def world(twilio_edge, tmp_path, sqlite_template):
    shutil.copy(sqlite_template, tmp_path / "t.db")
    w = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, f"sqlite:///{tmp_path / 't.db'}")), twilio_edge)
    yield w
    await w.close()


@pytest.mark.parametrize("case", CASES, ids=[c["label"] for c in CASES])
async def test_inbound_webhook(world, case):
    form = {"AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01", **case["form"]}
    if case.get("signature") != "forged" and case.get("signature") != "none":
        inbound = to_inbound(form)
        expected = case["inbound"]
        if expected is None:
            assert inbound is None
        else:
            assert {"channel": inbound.channel, "address": inbound.address, "text": inbound.text,
                    "payload": inbound.payload, "media": list(inbound.media)} == expected
            assert inbound.platform_message_id == form["MessageSid"]
    signature = {"forged": "bm90IGEgc2lnbmF0dXJl", "none": ""}.get(case.get("signature"))
    response = await world.post(MESSAGES_PATH, form, signature=signature)
    assert response.status_code == case["status"]
    await world.drain()
    with world.rt.sessions() as s:
        seen = s.scalar(select(InboundLog.id).where(InboundLog.platform_message_id == form.get("MessageSid", "-")))
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.channel != "demo"))
    if case["inbound"] is None:
        assert seen is None and identity is None
    else:
        assert seen is not None
        assert (identity.channel, identity.address) == (case["inbound"]["channel"], case["inbound"]["address"])
        assert world.edge.messages(), "every processed message gets an answer"
