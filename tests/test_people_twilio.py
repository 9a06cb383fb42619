"""People imported from a wijkhuis list (handlers/people_lists.py), through the real Twilio
channel (signed webhooks, the twilio client against Prism): their first message from that
number is greeted by name and never onboarded again; before they ever wrote, WhatsApp reaches
them only through an approved template."""
from __future__ import annotations

import json

import pytest
import pytest_asyncio
from sqlalchemy import select

from bot.runtime import Runtime
from handlers.core import Notifier
from handlers.people_lists import import_rows, read_rows
from models import ChannelIdentity, Outbox, Person
from models.base import utcnow
from models.network import neighbourhood_by_slug
from tests.test_same_phone import T
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, db_url, new_number, settings_for, world  # noqa: F401

HEADER = "first_name,phone,language,channel,consent,street\n"
TEMPLATE_SID = "HX" + "7" * 32
TEMPLATES = {"notify": {lang: {"content_sid": TEMPLATE_SID, "variables": {"1": "first_name", "2": "text"}}
                        for lang in ("nl", "fr")}}


def import_one(world, name: str, lang: str, channel: str) -> str:
    """``name`` on the demo neighbourhood's list, as `buurtbot people import` stores them; their number."""
    number = new_number()
    with world.rt.sessions() as s, s.begin():
        rows = read_rows(HEADER + f"{name},{number},{lang},{channel},at the door with Fatima,Kerkstraat 1\n")
        done = import_rows(s, neighbourhood_by_slug(s, "demo"), rows, utcnow())
        assert done.added == 1
    return number


def tell(world, number: str, text: str) -> None:
    """A notification to the person with this phone, as any sweep or broadcast tells someone."""
    with world.rt.sessions() as s, s.begin():
        person = s.scalars(select(Person).where(Person.phone == number)).one()
        notifier = Notifier(s, f"test:{number}")
        assert notifier.tell(person, lambda: (text, []))
        notifier.write()


@pytest.mark.parametrize("channel,writes_on,lang", [
    ("whatsapp", "whatsapp", "nl"),
    ("whatsapp", "whatsapp", "fr"),
    ("sms", "sms", "fr"),
    ("voice", "whatsapp", "nl"),  # on the list to be phoned (a mobile), later writes on WhatsApp from it
])
async def test_an_imported_person_is_greeted_by_name_the_first_time_they_write(world, channel, writes_on, lang):
    name = "Hélène" if lang == "fr" else "Maria"
    number = import_one(world, name, lang, channel)
    world.phones[name] = (writes_on, number)
    got = "\n".join(await world.say(name, "Bonjour" if lang == "fr" else "Hallo")).replace("’", "'")
    assert T(lang, "Hello {name}, good to hear from you!", name=name) in got
    assert T(lang, "Ask for help") in got  # the menu, in the language of the list
    assert "Nederlands" not in got and "Français" not in got  # no language question: no second onboarding
    with world.rt.sessions() as s:
        people = set(s.scalars(select(ChannelIdentity.person_id).where(ChannelIdentity.address == number)))
        assert len(people) == 1
        person = s.get(Person, people.pop())
        assert (person.first_name, person.consent_how) == (name, "at the door with Fatima")
    again = "\n".join(await world.say(name, "Bonjour" if lang == "fr" else "Hallo")).replace("’", "'")
    assert T(lang, "Hello {name}, good to hear from you!", name=name) not in again


@pytest_asyncio.fixture
async def templated_world(twilio_edge, db_url, tmp_path):
    path = tmp_path / "templates.json"
    path.write_text(json.dumps(TEMPLATES))
    w = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, db_url, twilio_templates_file=str(path))),
                    twilio_edge)
    yield w
    await w.close()


@pytest.mark.parametrize("lang", ["nl", "fr"])
async def test_whatsapp_to_someone_who_never_wrote_goes_only_as_a_template(templated_world, lang):
    world = templated_world
    name = "Fatna" if lang == "nl" else "Hélène"
    number = import_one(world, name, lang, "whatsapp")
    world.phones[name] = ("whatsapp", number)
    tell(world, number, "De buurtmaaltijd is woensdag om 12 uur." if lang == "nl" else "Repas de quartier mercredi.")
    await world.drain()
    sent = world.edge.messages(world.address(name))
    assert len(sent) == 1 and sent[0]["ContentSid"] == TEMPLATE_SID and "Body" not in sent[0]
    variables = json.loads(sent[0]["ContentVariables"])
    assert variables["1"] == name and ("buurtmaaltijd" in variables["2"] or "Repas" in variables["2"])
    # They answer: greeted by name, and now inside the window the replies are text.
    got = "\n".join(await world.say(name, "Hallo" if lang == "nl" else "Bonjour")).replace("’", "'")
    assert T(lang, "Hello {name}, good to hear from you!", name=name) in got
    assert all("Body" in m and "ContentSid" not in m for m in world.edge.messages(world.address(name))[1:])


async def test_without_a_template_nothing_goes_to_someone_who_never_wrote(world):
    number = import_one(world, "Fatna", "nl", "whatsapp")
    world.phones["Fatna"] = ("whatsapp", number)
    tell(world, number, "De buurtmaaltijd is woensdag om 12 uur.")
    await world.drain()
    assert world.edge.messages(world.address("Fatna")) == []  # a body would be refused outside the window
    with world.rt.sessions() as s:
        row = s.scalars(select(Outbox).where(Outbox.address == number)).one()
        assert row.status == "held"
    got = "\n".join(await world.say("Fatna", "Hallo"))  # once she writes, it goes (and she is greeted)
    assert any("buurtmaaltijd" in m for m in world.inbox("Fatna"))
    assert T("nl", "Hello {name}, good to hear from you!", name="Fatna") in got.replace("’", "'")
