"""A typed "yes" or "1" answers the message it belongs to -- and when several notifications wait
for an answer (two requests came in while the volunteer was out), it asks which one instead of
guessing or accepting them all. On WhatsApp and SMS nobody has a button to disambiguate."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import HelpRequest
from tests.flowkit import T, play, resident, volunteer  # noqa: F401


def ask(chat, who: str, words: str) -> int:
    """``who`` (already joined) asks for help with shopping tomorrow; returns the request id."""
    chat.send(who, payload="ask")
    chat.send(who, payload="cat:shopping")
    chat.send(who, words)
    chat.send(who, payload="when:tomorrow")
    chat.send(who, "Kerkstraat 12")
    chat.send(who, payload="yes")
    with chat.sessions() as s:
        return s.scalar(select(HelpRequest.id).order_by(HelpRequest.id.desc()).limit(1))


def claimed_by_anyone(chat) -> list[int]:
    with chat.sessions() as s:
        return list(s.scalars(select(HelpRequest.id).where(HelpRequest.status == "claimed")))


@pytest.fixture
def two_requests(chat):
    play(chat, volunteer("jan", "Jan", tasks="1"))
    play(chat, resident("maria", "Maria"))
    play(chat, resident("ahmed", "Ahmed"))
    first = ask(chat, "maria", "Melk en brood")
    second = ask(chat, "ahmed", "Medicijnen ophalen")
    return first, second


@pytest.mark.parametrize("typed", ["ja", "1", "Yes!", "oui"])
def test_a_bare_yes_with_two_open_requests_asks_which_one(chat, two_requests, typed):
    first, second = two_requests
    got = chat.send("jan", typed)
    assert claimed_by_anyone(chat) == []  # nothing accepted, certainly not both
    question = got[-1]
    assert question["text"].startswith(
        str(T("You have several questions waiting for an answer. Which one do you mean?", "nl"))
    )
    payloads = [o["payload"] for o in question["options"]]
    assert f"claim:{first}" in payloads and f"claim:{second}" in payloads
    labels = " ".join(o["label"] for o in question["options"])
    assert f"#{first}" in labels and f"#{second}" in labels
    # now a number is unambiguous
    n = payloads.index(f"claim:{first}") + 1
    got = chat.send("jan", str(n))
    assert claimed_by_anyone(chat) == [first]
    assert "Kerkstraat 12" in "\n".join(m["text"] for m in got)


def test_a_bare_yes_with_one_open_request_takes_it(chat):
    play(chat, volunteer("jan", "Jan", tasks="1"))
    play(chat, resident("maria", "Maria"))
    request = ask(chat, "maria", "Melk en brood")
    chat.send("jan", "ja")
    assert claimed_by_anyone(chat) == [request]


def test_a_notification_in_the_middle_of_a_flow_does_not_steal_its_answers(chat):
    play(chat, volunteer("jan", "Jan", tasks="1"))
    play(chat, resident("maria", "Maria"))
    chat.send("jan", payload="ask")  # Jan asks for help himself ...
    chat.send("jan", payload="cat:repair")
    chat.send("jan", "Een lamp ophangen")  # ... and is asked "When?"
    request = ask(chat, "maria", "Melk en brood")  # meanwhile Maria's request reaches him
    chat.send("jan", "1")  # "today": the answer to his own question
    assert claimed_by_anyone(chat) == []
    with chat.sessions() as s:
        assert (
            s.scalar(select(HelpRequest.id).where(HelpRequest.description == "Een lamp ophangen")) is None
        )  # not yet confirmed
    chat.send("jan", "Dorpstraat 3")  # the address, asked next
    assert chat.last("jan")["options"][0]["payload"] == "yes"  # then the confirm step
    # the notification's button still works
    chat.send("jan", payload=f"claim:{request}")
    assert claimed_by_anyone(chat) == [request]


def test_two_records_that_read_the_same_are_still_two():
    """Two volunteers called Jan offering the same: one topic text, two records to approve."""
    from handlers import waiting

    jan = "New volunteer: Jan (Shopping; max 2 a week). Approve?"
    options = [
        {"label": "Approve", "payload": "vol:ok:9", "topic": jan},
        {"label": "Decline", "payload": "vol:no:9", "topic": jan},
        {"label": "Approve", "payload": "vol:ok:8", "topic": jan},
        {"label": "Decline", "payload": "vol:no:8", "topic": jan},
    ]
    assert waiting.several(options)
    assert not waiting.several(options[:2])  # approve and decline of one record are one question


def test_yes_to_another_message_does_not_take_an_older_notification():
    """The newest message was a neighbour's thank-you with "Reply"; "ok" is not "claim #5"."""
    from handlers.answers import resolve
    from handlers.core import Inbound

    options = [{"label": "Reply", "payload": "msg:9"}, {"label": "Menu", "payload": "menu"},
               {"label": "I'll do it", "payload": "claim:5", "topic": "Shopping tomorrow"}]
    assert resolve(Inbound("demo", "jan", "ok", None), options).payload is None
    assert resolve(Inbound("demo", "jan", "ja", None), options[2:] + options[:2]).payload == "claim:5"


def test_a_question_walked_away_from_does_not_keep_its_numbers(chat):
    """Jan began to ask for help himself yesterday and never finished. Maria's request today
    is answered with his "1" -- the old question is over, not waiting forever."""
    from datetime import timedelta

    from models import ChannelIdentity

    play(chat, volunteer("jan", "Jan", tasks="1"))
    play(chat, resident("maria", "Maria"))
    chat.send("jan", payload="ask")
    chat.send("jan", payload="cat:repair")
    chat.send("jan", "Een lamp ophangen")  # asked "When?" ... and walks away
    with chat.sessions() as s, s.begin():
        identity = s.scalar(select(ChannelIdentity).where(ChannelIdentity.address == "jan"))
        identity.last_inbound_at -= timedelta(hours=13)
    request = ask(chat, "maria", "Melk en brood")
    got = chat.send("jan", "1")
    assert claimed_by_anyone(chat) == [request]
    assert "Kerkstraat 12" in "\n".join(m["text"] for m in got)
