"""Everything a person reads is in their language (issue 9 point 15): help names the commands
as that language's users type them, an erased message says so in their language, and
Telegram's command menu lists each language's own command names."""
from __future__ import annotations

import shutil

import pytest

from bot.demo import inbox
from handlers.account import command_for
from handlers.dispatch import ALIASES
from models.network import create_invite, neighbourhood_by_slug
from tests.flowkit import Do, Row, T, dispatcher, has, play, resident  # noqa: F401  (fixture)
from tests.telegram_fake import telegram_fake  # noqa: F401  (fixture)
from tests.tgkit import TelegramPeople, build_runtime, join, running

OWN = {
    "nl": ("/taal", "/hulp", "/mijngegevens", "/verwijder", "/vraag", "/aanbod", "/menu", "/stop"),
    "fr": ("/langue", "/aide", "/mesdonnees", "/supprimer", "/demande", "/offre", "/menu", "/stop"),
    "en": ("/language", "/help", "/mydata", "/delete", "/ask", "/offer", "/menu", "/stop"),
}
ENGLISH_ONLY = ("/language", "/mydata", "/delete")


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
def test_help_names_the_commands_of_the_persons_language(chat, lang):
    others = () if lang == "en" else ENGLISH_ONLY
    play(chat, resident("ria", "Ria", lang) + [
        Row("ria", f"/{command_for('help', lang)}", reply=has(*OWN[lang], lacks=others, options=("ask",))),
    ])


@pytest.mark.parametrize("lang", ["nl", "fr", "en"])
def test_every_command_help_names_is_understood(chat, lang):
    """What help shows is what the dispatcher understands, and the help command too."""
    for name in ("help", "language", "mydata", "delete", "ask", "offer", "menu", "stop"):
        word = command_for(name, lang)
        assert ALIASES[word] == name, (lang, name, word)
        assert "/" + word in OWN[lang]


def _dutch_coordinator(s, v):
    v["code"] = create_invite(s, neighbourhood_by_slug(s, "demo"), "coordinator").code


def test_an_erased_message_reads_in_the_readers_language(chat):
    play(chat, [
        Do(_dutch_coordinator),
        Row("kees", lambda v: f"/start {v['code']}"), Row("kees", payload="lang:nl"), Row("kees", "ja"),
        Row("kees", "Kees"),
        *resident("maria", "Maria", "fr")[:-1],
        Row("maria", payload="role:help", told={"kees": has("Maria")}),
        Row("maria", "/supprimer"),
        Row("maria", "oui"),
    ])
    with chat.sessions() as s, s.begin():
        texts = [m["text"] for m in inbox(s, "kees", 0)]
    assert "Maria" not in " ".join(texts)
    assert "[erased]" not in texts
    assert str(T("(erased)", "nl")) in texts


@pytest.fixture
def db_url(tmp_path, sqlite_template):
    path = tmp_path / "tg.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


async def test_telegram_command_menu_uses_each_languages_names(telegram_fake, db_url):
    rt = build_runtime(telegram_fake, db_url)
    people = TelegramPeople(telegram_fake, rt)
    async with running(rt):
        names = {code: [c["command"] for c in telegram_fake.commands_for(code)] for code in ("nl", "fr", "en")}
        assert names["nl"] == ["start", "menu", "hulp", "taal", "checkin", "bezorgd", "melding", "socialekaart",
                               "mijngegevens", "stop", "verwijder", "omroep"]
        assert names["fr"] == ["start", "menu", "aide", "langue", "checkin", "inquiet", "signalement", "services",
                               "mesdonnees", "stop", "supprimer", "diffusion"]
        assert names["en"] == ["start", "menu", "help", "language", "checkin", "worried", "problem", "services",
                               "mydata", "stop", "delete", "broadcast"]
        # what the menu offers works: /taal in a Dutch chat asks for the language
        await join(people, "Anne", "nl")
        got = await people.say("Anne", "/taal", "nl")
        buttons = [b["callback_data"] for row in got[-1]["reply_markup"]["inline_keyboard"] for b in row]
        assert "lang:nl" in buttons and "lang:fr" in buttons
        # /checkin from the menu asks whether they would like a weekly hello (always opt-in)
        got = await people.say("Anne", "/checkin", "nl")
        buttons = [b["callback_data"] for row in got[-1]["reply_markup"]["inline_keyboard"] for b in row]
        assert buttons == ["yes", "no"]


@pytest.mark.parametrize("lang", ["nl", "fr", "es", "pt", "it"])
def test_every_text_names_the_commands_of_the_persons_language(chat, lang):
    """Consent, /mydata and /stop name the commands too: no English one in a Dutch, French, Spanish... chat."""
    mine = {name: "/" + command_for(name, lang) for name in ("mydata", "delete")}
    play(chat, [
        Row("ria", "/start"), Row("ria", payload=f"lang:{lang}"),
        Row("ria", "1040", reply=has(mine["mydata"], mine["delete"], lacks=("/mydata ", "/delete,"))),
        Row("ria", payload="yes"), Row("ria", "Ria"), Row("ria", payload="role:help"),
        Row("ria", mine["mydata"], reply=has(mine["delete"], lacks=("/delete",))),
        Row("ria", "/" + command_for("stop", lang), reply=has(mine["delete"], lacks=("/delete",))),
    ])
