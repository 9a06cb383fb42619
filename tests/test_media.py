"""Photos and voice notes: attached to the request being described, forwarded by reference to
whoever claims it; outside a request they are thanked, never dropped in silence."""
from sqlalchemy import select

from handlers.core import Inbound
from models import HelpRequest, Outbox
from tests.flowkit import dispatcher  # noqa: F401  (a dispatcher without a rate limit)


def _approved_volunteer(chat, who="jan"):
    chat.join(who, "Jan", "nl", "role:give")
    for answer in ("1 3", "nl", "2", "nee"):
        chat.send(who, answer)
    chat.send("coordinator", "1")


def test_a_voice_note_becomes_the_description_and_reaches_the_claimer(chat):
    _approved_volunteer(chat)
    chat.join("maria", "Maria", "nl", "role:help")
    chat.send("maria", payload="ask")
    chat.send("maria", "1")
    chat.dispatcher.handle(Inbound("demo", "maria", "", None, platform_message_id="voice-1",
                                   media=("telegram:voice:AwACAgQ",)))
    assert [o["payload"] for o in chat.last("maria")["options"]][:2] == ["when:today", "when:tomorrow"]
    chat.send("maria", payload="when:week")
    chat.send("maria", "Kerkstraat 12")
    chat.send("maria", "ja")
    with chat.sessions() as s:
        req = s.scalar(select(HelpRequest))
        assert req.media == ["telegram:voice:AwACAgQ"] and req.description
    chat.send("jan", payload=f"claim:{req.id}")
    with chat.sessions() as s:
        assert s.get(HelpRequest, req.id).status == "claimed"
        forwarded = [r for r in s.scalars(select(Outbox).where(Outbox.address == "jan")) if r.media]
    assert len(forwarded) == 1 and forwarded[0].media == ["telegram:voice:AwACAgQ"]


def test_a_photo_outside_a_request_gets_a_kind_answer(chat):
    chat.join("piet", "Piet", "fr", "role:help")
    result = chat.dispatcher.handle(Inbound("demo", "piet", "", None, platform_message_id="photo-1",
                                            media=("telegram:photo:AgAD",)))
    assert result == "ok"
    reply = chat.last("piet")
    assert reply["options"] and reply["options"][0]["payload"] == "ask"


def test_a_shared_location_becomes_the_address_shown_only_after_the_claim(chat):
    _approved_volunteer(chat)
    chat.join("maria", "Maria", "nl", "role:help")
    chat.send("maria", payload="ask")
    chat.send("maria", "1")
    chat.send("maria", "Boodschappen voor donderdag")
    chat.send("maria", payload="when:week")
    chat.dispatcher.handle(Inbound("demo", "maria", "", None, platform_message_id="loc-1",
                                   media=("location:50.836000,4.389000",)))
    chat.send("maria", "ja")
    notice = chat.last("jan")["text"]
    assert "openstreetmap" not in notice and "📍" in notice
    with chat.sessions() as s:
        req = s.scalar(select(HelpRequest))
    got = chat.send("jan", payload=f"claim:{req.id}")
    assert "mlat=50.836000&mlon=4.389000" in "\n".join(m["text"] for m in got)
