"""Spanish, Portuguese and Italian (issue 10, languages): their catalogs and lexicons walk the flows --
help names each language's own commands, what help names is understood, consent and /stop name
them too, and a newcomer who types the language's name and "sí"/"sim"/"sì" joins in it."""
from __future__ import annotations

import pytest

from handlers.account import command_for
from handlers.dispatch import ALIASES
from handlers.i18n import catalog
from handlers.keywords import protective
from handlers.lexicon import LANGUAGES
from tests.flowkit import Row, dispatcher, has, person, play, resident  # noqa: F401  (fixture)
from tests.test_flows_language import ENGLISH_ONLY

OWN = {
    "es": ("/idioma", "/ayuda", "/misdatos", "/borrar", "/pedir", "/ofrecer", "/menu", "/stop"),
    "pt": ("/lingua", "/ajuda", "/meusdados", "/apagar", "/pedir", "/oferecer", "/menu", "/stop"),
    "it": ("/lingua", "/aiuto", "/mieidati", "/elimina", "/chiedi", "/offri", "/menu", "/stop"),
}


@pytest.mark.parametrize("lang", ["es", "pt", "it"])
def test_help_names_the_commands_of_the_persons_language(chat, lang):
    play(chat, resident("ria", "Ria", lang) + [
        Row("ria", f"/{command_for('help', lang)}", reply=has(*OWN[lang], lacks=ENGLISH_ONLY, options=("ask",))),
    ])


@pytest.mark.parametrize("lang", ["es", "pt", "it"])
def test_every_command_help_names_is_understood(lang):
    for name in ("help", "language", "mydata", "delete", "ask", "offer", "menu", "stop"):
        word = command_for(name, lang)
        assert ALIASES[word] == name, (lang, name, word)
        assert "/" + word in OWN[lang]


NAME_QUESTION = "Thank you! What is your first name?"


@pytest.mark.parametrize("lang,typed,yes,name", [
    ("es", "espanol", "sí", "Lucía"), ("pt", "Português", "sim", "João"), ("it", "italiano", "sì", "Giulia"),
])
def test_a_newcomer_types_the_language_and_yes_and_joins_in_it(chat, lang, typed, yes, name):
    def speaks(s, v):
        p = person(s, "x")
        assert p is not None and p.language == lang and p.first_name == name

    play(chat, [
        Row("x", "/start", reply=has(options=(f"lang:{lang}",))),
        Row("x", typed), Row("x", "1040"),
        Row("x", yes, reply=has(catalog(lang).gettext(NAME_QUESTION))),
        Row("x", name, reply=has(options=("role:help",))),
        Row("x", "1", reply=has(options=("cat:shopping",)), db=speaks),
    ])
    assert LANGUAGES[lang] in ("Español", "Português", "Italiano")


@pytest.mark.parametrize("text", [
    "parar", "/parar", "BAJA", "sair", "basta", "/basta", "/borrar", "/apagar", "/elimina",
    "empezar", "começar", "inizia",
])
def test_stop_start_and_delete_words_pass_any_flood(text):
    assert protective(text)
