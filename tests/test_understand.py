"""handlers.understand.understand(): one pure function from a message to what it asks, in which
language, for when. Table-driven; ``today`` is injected (a Monday), never the wall clock."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import locales
from handlers import keywords, language_id, lexicon
from handlers.understand import Understanding, understand

TODAY = date(2026, 12, 7)  # a Monday
LOCALES = Path(locales.__file__).parent
TEN = ("nl", "fr", "en", "ar", "tr", "es", "pt", "it", "pl", "ro")
DATA = Path(__file__).parent / "testdata"


@pytest.fixture(scope="module")
def ten():
    """The repository's own locales: every one of the ten languages is there (a missing one fails here)."""
    assert [code for code in TEN if code not in lexicon.current().languages] == []
    return LOCALES


# ---- language, request or offer, category (nl, fr, en: their lexicons are on this branch) ---------

@pytest.mark.parametrize("text,language,kind,category", [
    ("Kan iemand morgen mijn boodschappen doen?", "nl", "request", "shopping"),
    ("boodschappn morgn? thx", "nl", "request", "shopping"),
    ("Ik ga morgen toch naar de winkel. Kan ik iets meebrengen voor een buur?", "nl", "offer", "shopping"),
    ("Goeiedag, ik ben 82 en slecht te been. Kan er iemand donderdag mijn vuilbak buitenzetten?", "nl", "request",
     "repair"),
    ("De lamp in mijn keuken is kapot en ik kan niet meer op een ladder. Wie kan even helpen?", "nl", "request",
     "repair"),
    ("Kan iemand mij donderdag meenemen naar de buurtmaaltijd?", "nl", "request", "lift"),
    ("Wie kan mijn kat eten geven en de planten water geven?", "nl", "request", "pets"),
    ("Ik zou graag af en toe iemand over de vloer hebben voor een babbeltje.", "nl", "request", "company"),
    ("Mijn kleindochter stuurt foto's via WhatsApp maar ik krijg ze niet open op mijn gsm. Kan iemand helpen?",
     "nl", "request", "paperwork"),
    ("Ik heb een auto en kan mensen rondrijden, liefst 's namiddags.", "nl", "offer", "lift"),
    ("Ik kan mijn boodschappen niet meer zelf doen", "nl", "request", "shopping"),  # "ik kan ... doen", negated
    ("Ik heb een auto maar ik kan niet meer rijden, wie kan mij naar de dokter brengen?", "nl", "request", "lift"),
    ("Ik wil graag vrijwilliger worden", "nl", "offer", "other"),
    ("Mag ik iemand helpen met zijn boodschappen?", "nl", "offer", "shopping"),
    ("Ik heb hulp nodig", "nl", "request", "other"),
    ("Dank u, maar ik kan nog goed voor mezelf zorgen.", "nl", "other", None),
    ("J'ai besoin d'aide pour mes courses jeudi", "fr", "request", "shopping"),
    ("Quelqu'un peut me conduire chez le médecin ?", "fr", "request", "lift"),
    ("Je vais au Delhaize demain de toute façon, quelqu'un a besoin de quelque chose ?", "fr", "offer", "shopping"),
    ("Je ne peux plus porter mes courses, quelqu'un peut m'aider ?", "fr", "request", "shopping"),
    ("Qui peut arroser mes plantes pendant les vacances ?", "fr", "request", "pets"),
    ("Besoin d'aide pour remplir un formulaire de la mutuelle", "fr", "request", "paperwork"),
    ("j'aimerais que quelqu'un vienne me voir de temps en temps", "fr", "request", "company"),
    ("Je peux faire les courses pour quelqu'un demain", "fr", "offer", "shopping"),
    ("Can someone drive me to the doctor on Thursday morning?", "en", "request", "lift"),
    ("I'm going to the shop anyway, can I bring something for someone?", "en", "offer", "shopping"),
    ("I can't carry my shopping anymore, could someone help?", "en", "request", "shopping"),
    ("Who can fix my leaking tap?", "en", "request", "repair"),
    ("I need someone to walk my dog", "en", "request", "pets"),
    ("Happy to walk dogs in the area", "en", "offer", "pets"),
    ("thanks for yesterday!", "en", "other", None),
    ("Bedankt voor de boodschappen gisteren!", "nl", "other", "shopping"),  # thanks ask nothing
    # a worry about someone is not a task for the volunteers, whatever thing it names
    ("Ik heb mevrouw van nummer 12 al een week niet gezien en haar rolluiken blijven dicht.", "nl", "other", None),
    ("Apotheek hier. Meneer M. haalt normaal elke week zijn medicatie, maar ik heb hem al drie weken niet gezien.",
     "nl", "other", None),
    ("My neighbour fell in the garden and is not breathing", "en", "other", None),
    ("Kan iemand mij naar het ziekenhuis brengen, ik heb pijn op de borst", "nl", "request", "lift"),  # asked
    ("I'm stuck at home with a broken leg, need groceries", "en", "request", "shopping"),
    ("I can give lifts on Tuesdays and Thursdays", "en", "offer", "lift"),
])
def test_language_kind_and_category(text, language, kind, category):
    found = understand(text, today=TODAY)
    assert (found.language, found.kind, found.category) == (language, kind, category)


@pytest.mark.parametrize("text,category", [
    ("Kan iemand mij helpen met de boodschapen?", "shopping"),   # a letter missing
    ("Ik heb hulp nodig met mijn computr", "paperwork"),         # computer*
    ("Besoin d'aide pour mes coursses", "shopping"),
    ("Could someone help me with my groceires?", "shopping"),    # two letters swapped
])
def test_typos_in_the_words_of_help(text, category):
    assert understand(text, today=TODAY).category == category


# ---- language identification ------------------------------------------------------------------

@pytest.mark.parametrize("text,language", [
    ("Allee, c'est pas grave", "fr"),                       # Brussels: the dominant language
    ("Allee, ik kom morgen wel, merci hé", "nl"),
    ("boodschappn morgn? thx", "nl"),                        # SMS style
    ("Merci beaucoup, à demain", "fr"),
    ("need help with groceries tmrw pls", "en"),
    ("مرحبا، أحتاج مساعدة في التسوق غدا", "ar"),
    ("salam 3afak wach chi wa7ed y9der y3awni", "ar"),       # Darija in Latin letters: digits for sounds
    ("Yarın alışverişime yardım edebilecek biri var mı?", "tr"),
    ("¿Alguien puede ayudarme con la compra mañana?", "es"),
    ("Alguém pode ajudar-me com as compras amanhã?", "pt"),
    ("Qualcuno può aiutarmi con la spesa domani?", "it"),
    ("Czy ktoś może mi pomóc z zakupami jutro?", "pl"),
    ("Poate cineva să mă ajute cu cumpărăturile mâine?", "ro"),
    ("Mulțumesc frumos", "ro"),                              # short: letters only Romanian writes
    ("Dziękuję bardzo", "pl"),
    ("Teşekkürler", "tr"),
    ("Muchas gracias, hasta mañana", "es"),
    ("Muito obrigado", "pt"),
    ("Grazie mille!", "it"),
    ("شكرا جزيلا", "ar"),
])
def test_the_ten_languages_are_recognised(ten, text, language):
    assert understand(text, today=TODAY).language == language


@pytest.mark.parametrize("text,other", [
    ("Здравствуйте, мне нужна помощь с покупками", "ru"),
    ("Доброго дня, чи може хтось допомогти мені з покупками?", "uk"),
    ("Здравейте, може ли някой да ми помогне с пазаруването?", "bg"),
    ("Καλησπέρα, μπορεί κάποιος να με βοηθήσει με τα ψώνια;", "el"),
    ("ⴰⵣⵓⵍ ⴼⵍⵍⴰⴽ", "ber"),                                    # Tifinagh
    ("Ur zmireɣ ara ad ruḥeɣ ɣer tḥanut", "ber"),              # Kabyle in Latin letters: ɣ, ɛ
])
def test_languages_the_bot_does_not_speak_are_other(ten, text, other):
    found = understand(text, today=TODAY)
    assert (found.language, found.other_language) == ("other", other)
    assert found.as_json()["language"] == "other"


def test_lingala_and_berber_in_latin_letters_are_recognised_by_their_words(ten, tmp_path):
    lex = lexicon.current()
    if not {"ln", "ber"} <= set(lex.others):  # the cat-c helper's files; here a minimal stand-in
        other = Path(lex.directory) / "lexicon" / lexicon.OTHER
        other.mkdir(exist_ok=True)
        (other / "ln.txt").write_text("name: Lingála\nwords: mbote, nalingi, lisalisi, matondi, ndeko\n")
        (other / "ber.txt").write_text("name: Tamaziɣt\nwords: azul, tanmirt, tanemmirt, amek, tellid\n")
        lexicon.use(lex.directory)
    assert understand("Mbote, nalingi lisalisi mpo na kosomba biloko").other_language == "ln"
    assert understand("azul, tanmirt, amek tellid?").other_language == "ber"


@pytest.mark.parametrize("text,hint", [("ok", "fr"), ("merci", "nl"), ("112", "en"), ("👍", "fr"), ("ja", "fr")])
def test_short_texts_keep_the_persons_own_language(text, hint):
    assert understand(text, language=hint, today=TODAY).language == hint


def test_a_hint_does_not_hide_a_sentence_in_another_language():
    assert understand("J'ai besoin d'aide pour mes courses jeudi", language="nl").language == "fr"


# ---- when -------------------------------------------------------------------------------------

@pytest.mark.parametrize("text,when,when_kind,part", [
    ("morgen", date(2026, 12, 8), "tomorrow", None),
    ("morgenavond", date(2026, 12, 8), "tomorrow", "evening"),
    ("vandaag", date(2026, 12, 7), "today", None),
    ("ce soir", date(2026, 12, 7), "today", "evening"),
    ("overmorgen", date(2026, 12, 9), "date", None),
    ("après-demain", date(2026, 12, 9), "date", None),
    ("apres demain", date(2026, 12, 9), "date", None),
    ("Thursday morning", date(2026, 12, 10), "date", "morning"),
    ("donderdagnamiddag", date(2026, 12, 10), "date", "afternoon"),
    ("maandag", date(2026, 12, 14), "date", None),              # said on a Monday: a week later
    ("vandaag, maandag", date(2026, 12, 7), "today", None),
    ("volgende dinsdag", date(2026, 12, 8), "date", None),      # the next Tuesday strictly after today
    ("volgende week dinsdag", date(2026, 12, 15), "date", None),
    ("mardi de la semaine prochaine", date(2026, 12, 15), "date", None),
    ("mardi prochain", date(2026, 12, 8), "date", None),
    ("next Tuesday", date(2026, 12, 8), "date", None),
    ("zaterdag", date(2026, 12, 12), "date", None),
    ("12/12", date(2026, 12, 12), "date", None),
    ("op 3/12", date(2027, 12, 3), "date", None),               # past this year: next year's
    ("3 december", date(2027, 12, 3), "date", None),
    ("le 3 janvier", date(2027, 1, 3), "date", None),
    ("on the 12th of December", date(2026, 12, 12), "date", None),
    ("December 24th", date(2026, 12, 24), "date", None),
    ("Kan iemand deze namiddag langskomen?", date(2026, 12, 7), "today", "afternoon"),
    ("deze morgen ben ik thuis", date(2026, 12, 7), "today", "morning"),    # "morgen" here is the morning
    ("vandaag of morgen", date(2026, 12, 7), "today", None),     # the first day said
    ("morgen of overmorgen", date(2026, 12, 8), "tomorrow", None),
    ("deze week", None, "week", None),
    ("this week", None, "week", None),
    ("Goede morgen! Kan iemand helpen?", None, None, None),     # a greeting, not tomorrow
    ("I may need help", None, None, None),                      # a month needs a day
    ("Kan iemand helpen?", None, None, None),
])
def test_when(text, when, when_kind, part):
    found = understand(text, today=TODAY)
    assert (found.when, found.when_kind, found.part_of_day) == (when, when_kind, part)


def test_when_follows_the_injected_today():
    assert understand("morgen", today=date(2026, 12, 31)).when == date(2027, 1, 1)
    assert understand("vrijdag", today=date(2026, 12, 31)).when == date(2027, 1, 1)


# ---- signals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("text,signals", [
    ("Mijn buurvrouw ligt op de grond en reageert niet", {"emergency"}),
    ("Mijn buurvrouw ligt op de grond en reageert nietmeer, ambulnace!", {"emergency"}),
    ("ma voisine est inconciente", {"emergency"}),
    ("my husband colapsed", {"emergency"}),
    ("je ne veux plus vivre", {"suicide"}),
    ("Ik zorg al twee jaar voor mijn vader met dementie en ik kan niet meer.", {"professional"}),
    ("Ik heb mevrouw van nummer 12 al een week niet gezien", {"concern"}),
])
def test_signals(text, signals):
    found = understand(text, today=TODAY)
    assert signals <= found.signals
    assert found.urgent == bool(signals & {"emergency", "suicide"})
    assert found.referral == ("professional" in signals)


@pytest.mark.parametrize("text,urgent", [
    ("Помогите срочно! Соседка упала и не может встать", True),        # ru
    ("Викличте швидку, сусід не дихає", True),                          # uk
    ("Моля, линейка! Баба припадна", True),                             # bg
    ("Βοήθεια, ο γείτονας λιποθύμησε", True),                           # el
    ("Mama akwei na nse, azali kopema te", True),                       # ln
    ("Не хочу жить", True),
    ("Здравствуйте, мне нужна помощь с покупками", False),
    ("Доброго дня, чи може хтось допомогти мені з покупками?", False),
    ("Καλησπέρα, μπορεί κάποιος να με βοηθήσει με τα ψώνια;", False),
    ("Mbote, nalingi lisalisi mpo na kosomba biloko", False),
])
def test_emergencies_in_languages_the_bot_does_not_speak_are_caught_too(text, urgent):
    assert understand(text).urgent is urgent


def _corpus_rows() -> list[tuple[str, str, set[str]]]:
    rows = []
    for path in [DATA / "signals_corpus.tsv", *sorted((DATA / "signals").glob("*.tsv"))]:
        for line in path.read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 3 and not line.startswith(("#", "lang\t")):
                rows.append((parts[0], parts[1], set() if parts[2] == "-" else set(parts[2].split(","))))
    return rows


def _typos(text: str) -> list[str]:
    """The text with one typo in each word it cannot do without: two letters swapped, one dropped."""
    known = set(language_id.vocabulary(lexicon.current()).exact) | keywords.urgent_typos(lexicon.current()).known
    words = lexicon.fold_words(text).split()
    out = []
    for i, word in enumerate(words):
        if len(word) < 6 or not word.isalpha():
            continue
        if keywords.signals(" ".join([*words[:i], "xq", *words[i + 1:]])) & keywords.URGENT:
            continue  # the message is urgent without this word too
        middle = len(word) // 2
        for typo in (word[:middle - 1] + word[middle] + word[middle - 1] + word[middle + 1:],
                     word[:middle] + word[middle + 1:]):
            if typo != word and typo not in known:  # a typo that makes another lexicon word is not read
                out.append(" ".join([*words[:i], typo, *words[i + 1:]]))
    return out


URGENT_ROWS = [(lang, text) for lang, text, signals in _corpus_rows() if signals & keywords.URGENT]


@pytest.mark.parametrize("lang,text", URGENT_ROWS, ids=[f"{r[0]}-{n}" for n, r in enumerate(URGENT_ROWS)])
def test_every_emergency_of_the_corpus_is_caught_with_a_typo_and_without_accents(lang, text):
    assert understand(text).urgent
    assert understand(lexicon.fold_words(text)).urgent
    for typo in _typos(text):
        assert understand(typo).urgent, typo


def test_typo_tolerance_raises_no_alarm_on_ordinary_messages():
    quiet = [text for _lang, text, signals in _corpus_rows() if not signals]
    assert len(quiet) >= 150
    assert [text for text in quiet if understand(text).urgent] == []


# ---- the object -------------------------------------------------------------------------------

def test_an_empty_message_is_understood_as_nothing():
    found = understand("", language="fr", today=TODAY)
    assert isinstance(found, Understanding)
    assert (found.language, found.kind, found.category, found.when, found.urgent) == ("fr", "other", None, None, False)


def test_as_json_holds_the_contract_keys():
    found = understand("Kan iemand morgen mijn boodschappen doen?", today=TODAY).as_json()
    assert {k: found[k] for k in ("language", "kind", "category", "when", "urgent", "referral")} == {
        "language": "nl", "kind": "request", "category": "shopping", "when": "2026-12-08", "urgent": False,
        "referral": False}


@pytest.mark.parametrize("text", ["\x00\x01", "a" * 100_000, "🙂" * 500, "1/1/1/1", "99/99", "31/02",
                                  "مرحبا" * 1000, "\u202e\u2068x\u2069"])
def test_any_input_gives_an_answer(text):
    found = understand(text, today=TODAY)
    assert found.kind in ("request", "offer", "other")


@pytest.mark.parametrize("text,day", [
    ("Kan iemand 1.5 kg aardappelen halen?", None), ("appartement 3-2b, wie helpt met de verhuis?", None),
    ("boodschappen op 2027-01-05", date(2027, 1, 5)), ("boodschappen op 12/12", date(2026, 12, 12)),
    ("courses le 24.12.2026", date(2026, 12, 24)), ("2,5 l melk meebrengen?", None),
])
def test_numbers_are_dates_only_when_they_look_like_one(text, day):
    assert understand(text, today=TODAY).when == day


@pytest.mark.parametrize("text", ["I don't want to live anymore", "i dont want to live anymore",
                                  "I don’t want to be here anymore"])
def test_an_apostrophe_dropped_or_not_is_the_same_cry(text):
    assert understand(text, today=TODAY).urgent


def test_lone_surrogates_are_read_not_raised():
    assert understand("\udcff boodschappen morgen?", today=TODAY).category == "shopping"


def test_a_server_loads_the_language_models_at_start_not_on_the_first_message(tmp_path):
    """lingua's models take about a second to load: Runtime.build loads them, so no person waits."""
    from bot.runtime import Runtime
    from bot.settings import Settings

    language_id._detector.cache_clear()
    rt = Runtime.build(Settings(_env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}"), demo=True)
    try:
        assert language_id._detector.cache_info().currsize >= 1
    finally:
        rt.engine.dispose()
