"""Conversations in Arabic, Turkish and Spanish (issue 10), on Telegram (the real
python-telegram-bot Application against the fake Bot API) and on SMS (the real twilio client
against Prism): a newcomer writes a sentence in their language instead of pressing buttons, is
answered in it, joins, gets what they wrote proposed back as a request, confirms, and a
volunteer who speaks the language takes it.

Texts are compared through the catalogs (``T``): where a catalog is still untranslated the bot
and the test both read English, where it is translated both read the translation. Languages
whose catalog or words are not in this checkout yet are added for the test from data alone
(a copy of ``locales/`` with a small lexicon), as a buurtwerker would add them.
"""
from __future__ import annotations

import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from babel.messages.pofile import read_po, write_po
from sqlalchemy import select

from bot.channels.twilio.render import SMART
from bot.runtime import Runtime
from handlers import lexicon
from handlers.i18n import LANGUAGES, catalog, format_day, speaking, today
from handlers.labels import category
from models import HelpRequest, Person
from models.network import create_invite, neighbourhood_by_slug
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, buttons_of, join, running
from tests.twilio_edge import prism, twilio_edge  # noqa: F401  (fixtures)
from tests.twiliokit import TwilioWorld, db_url, settings_for  # noqa: F401  (fixture)

LOCALES = Path(lexicon.DEFAULT_DIRECTORY)
ADDRESS = "Kerkstraat 12, 1040 Etterbeek"
#: What a newcomer writes first: "can someone help me with my shopping tomorrow?"
SENTENCES = {
    "ar": "مرحبا، أحتاج مساعدة في التسوق غدا من فضلكم",
    "tr": "Merhaba, yarın alışverişime yardım edebilir misiniz?",
    "es": "Hola, ¿alguien puede ayudarme con la compra mañana?",
}
#: The smallest lexicon that lets buurtbot speak a language, for a checkout that lacks it.
MINIMAL = {
    "ar": {"language.txt": "name: العربية\nlocale: ar_MA\norder: 4\nwords: arabic, arabe, arabisch, عربي\n",
           "yes.txt": "نعم\nايه\n", "no.txt": "لا\n", "request.txt": "احتاج\nمساعدة\nمن يستطيع\n",
           "offer.txt": "يمكنني المساعدة\n", "help/shopping.txt": "التسوق\nتسوق\nمشتريات\n",
           "when.txt": "tomorrow: غدا, بكرة\ntoday: اليوم\n"},
    "tr": {"language.txt": "name: Türkçe\nlocale: tr_TR\norder: 5\nwords: turkce, turkish, turks, turc\n",
           "yes.txt": "evet\ntamam\n", "no.txt": "hayir\n",
           "request.txt": "yardim edebilir misiniz\nyardima ihtiyacim var\n",
           "offer.txt": "yardim edebilirim\n", "help/shopping.txt": "alisveris*\nmarket\n",
           "when.txt": "tomorrow: yarin\ntoday: bugun\n"},
    "es": {"language.txt": "name: Español\nlocale: es_ES\norder: 6\nwords: espanol, spanish, spaans, espagnol\n",
           "yes.txt": "si\nvale\n", "no.txt": "no\n", "request.txt": "alguien puede\nnecesito ayuda\n",
           "offer.txt": "puedo ayudar\n", "help/shopping.txt": "compra*\nsupermercado\n",
           "when.txt": "tomorrow: manana\ntoday: hoy\n"},
}
LANGS = list(SENTENCES)

WHICH_AREA = ("Which neighbourhood do you live in? Type your postcode (for example 1040), or the invite code you "
              "received.")
WROTE_IN = "You wrote in {language}. Shall we continue in {language}?"
WHERE = ("Where should the volunteer come? Type your street and house number. Volunteers only see the street until "
         "one of them takes your request.")


def add_missing_languages(root: Path) -> Path:
    """A copy of locales/ where ar, tr and es exist: their own files where this checkout has them,
    else an empty catalog (English text) and the minimal words above."""
    target = root / "locales"
    shutil.copytree(LOCALES, target, ignore=shutil.ignore_patterns("__pycache__", "*.py"))
    for code, files in MINIMAL.items():
        po = target / code / "LC_MESSAGES" / "messages.po"
        if not po.exists():
            po.parent.mkdir(parents=True)
            with (LOCALES / "en" / "LC_MESSAGES" / "messages.po").open("rb") as fp:
                cat = read_po(fp, locale="en")
            for message in cat:
                if message.id:
                    message.string = "" if isinstance(message.id, str) else ("",) * len(message.id)
            with po.open("wb") as fp:
                write_po(fp, cat)
        words = target / "lexicon" / code
        if not (words / "language.txt").exists():
            for name, text in files.items():
                (words / name).parent.mkdir(parents=True, exist_ok=True)
                (words / name).write_text(text, encoding="utf-8")
    return target


@pytest.fixture
def ten(tmp_path):
    with lexicon.using(add_missing_languages(tmp_path)):
        assert all(code in LANGUAGES for code in LANGS)
        yield


def T(lang: str, msgid: str, **params) -> str:
    text = catalog(lang).gettext(msgid)
    return text.format(**params) if params else text


def plain(text: str) -> str:
    """As a phone shows it, for comparing: SMS typography folded, direction marks and isolates dropped."""
    return re.sub("[\u200e\u200f\u2066-\u2069]", "", text.translate(SMART))


def proposal(lang: str) -> str:
    with speaking(lang):
        return T(lang, "I understood: {what}, {when}. Is that right?", what=category("shopping"),
                 when=format_day(today() + timedelta(days=1)))


def check_request(sessions, lang: str, volunteer: str) -> None:
    with sessions() as s:
        req = s.scalar(select(HelpRequest).order_by(HelpRequest.id.desc()).limit(1))
        assert req is not None and req.status == "claimed"
        assert (req.category, req.when_kind, req.due_date) == ("shopping", "tomorrow", today() + timedelta(days=1))
        assert req.description == SENTENCES[lang]  # their own words
        assert req.requester.language == lang and req.claimed_by.first_name == volunteer
        assert lang in req.claimed_by.languages_spoken


def invite(sessions, role: str) -> str:
    with sessions() as s, s.begin():
        return create_invite(s, neighbourhood_by_slug(s, "demo"), role).code


# ---- Telegram ---------------------------------------------------------------------------------

@pytest.fixture
def tg_db(tmp_path, sqlite_template):
    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize("lang", LANGS)
async def test_telegram_free_text_from_joining_to_a_claim(telegram_fake, tg_db, ten, lang):
    rt = build_runtime(telegram_fake, tg_db)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        # a coordinator, and a volunteer who speaks the language (their own), approved
        await people.say("Fatima", f"/start {invite(rt.sessions, 'coordinator')}", "nl")
        await people.press("Fatima", "lang:nl")
        await people.say("Fatima", "ja", "nl")
        await people.say("Fatima", "Fatima", "nl")
        await join(people, "Vol", lang, "role:give")
        await people.press("Vol", "offercat:shopping")
        await people.press("Vol", "offercat:done")
        await people.say("Vol", f"nl {lang}", lang)  # the languages they speak
        await people.press("Vol", "cap:5")
        await people.press("Vol", "no")
        await people.press("Fatima", "vol:ok:")
        # a newcomer writes a sentence at the language question: answered in that language
        await people.say("Ayse", "/start", lang)
        got = await people.say("Ayse", SENTENCES[lang], lang)
        assert plain(T(lang, WROTE_IN, language=LANGUAGES[lang])) in plain(got[-1]["text"])
        assert set(buttons_of(got[-1])) == {"yes", "no"}
        got = await people.press("Ayse", "yes")
        assert plain(T(lang, WHICH_AREA)) in plain(got[-1]["text"])
        await people.say("Ayse", "1040", lang)
        await people.press("Ayse", "yes")
        # after joining, what they wrote is proposed back: nothing is posted yet
        got = await people.say("Ayse", "Ayşe", lang)
        assert plain(proposal(lang)) in plain(got[-1]["text"]) and set(buttons_of(got[-1])) == {"yes", "no"}
        with rt.sessions() as s:
            assert s.scalar(select(HelpRequest.id)) is None
            assert s.scalar(select(Person).where(Person.first_name == "Ayşe")).language == lang
        got = await people.press("Ayse", "yes")
        assert plain(T(lang, WHERE)) in plain(got[-1]["text"])  # when was understood: not asked
        await people.say("Ayse", ADDRESS, lang)
        await people.press("Ayse", "yes")
        # the volunteer who speaks it takes it
        await people.await_button("Vol", "claim:")
        got = await people.press("Vol", "claim:")
        assert ADDRESS in "\n".join(m["text"] for m in got)
        await people.await_button("Ayse", "msg:")
        assert "Vol" in people.last("Ayse")["text"]
    check_request(rt.sessions, lang, "Vol")


# ---- SMS (Twilio) -------------------------------------------------------------------------------

@pytest_asyncio.fixture
async def sms_world(twilio_edge, db_url, ten):
    world = TwilioWorld(Runtime.build(settings_for(twilio_edge.url, db_url)), twilio_edge)
    yield world
    await world.close()


async def sms_volunteer(world: TwilioWorld, name: str, lang: str) -> None:
    """A Dutch-speaking volunteer who also speaks ``lang``, joined and approved by typing only."""
    world.phone("Fatima", "sms")
    await world.say("Fatima", "Hallo")
    await world.choose("Fatima", "Nederlands")
    await world.say("Fatima", invite(world.rt.sessions, "coordinator"))
    await world.say("Fatima", "ja")
    await world.say("Fatima", "Fatima")
    world.phone(name, "sms")
    await world.say(name, "Hallo")
    await world.choose(name, "Nederlands")
    await world.say(name, "1040")
    await world.say(name, "ja")
    await world.say(name, name)
    await world.choose(name, T("nl", "I would like to help"))
    await world.say(name, "1")  # shopping (one number toggles it)
    await world.choose(name, T("nl", "Done"))
    await world.say(name, f"nl {lang}")
    await world.say(name, "2")
    await world.say(name, "nee")
    await world.choose("Fatima", T("nl", "Approve"))


@pytest.mark.parametrize("lang", LANGS)
async def test_sms_free_text_from_the_first_message_to_a_claim(sms_world, lang):
    world = sms_world
    await sms_volunteer(world, "Vol", lang)
    # the very first message is a sentence: answered in its language, 1 = yes, 2 = another language
    world.phone("Ayse", "sms")
    got = plain("\n".join(await world.say("Ayse", SENTENCES[lang])))
    assert plain(T(lang, WROTE_IN, language=LANGUAGES[lang])) in got and "1. " in got and "2. " in got
    got = plain("\n".join(await world.say("Ayse", "1")))
    assert plain(T(lang, WHICH_AREA)) in got
    await world.say("Ayse", "1040")
    await world.say("Ayse", "1")  # consent
    got = plain("\n".join(await world.say("Ayse", "Ayşe")))
    assert plain(proposal(lang)) in got
    got = plain("\n".join(await world.say("Ayse", "1")))  # yes
    assert plain(T(lang, WHERE)) in got
    await world.say("Ayse", ADDRESS)
    await world.say("Ayse", "1")  # send it
    notice = world.last("Vol")
    assert "Kerkstraat" in notice and "Kerkstraat 12" not in notice
    got = await world.say("Vol", "1")  # the one open item: taken
    assert ADDRESS in "\n".join(got)
    assert "Vol" in world.last("Ayse")
    check_request(world.rt.sessions, lang, "Vol")
