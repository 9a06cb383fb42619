"""understand() on messages in the languages the bot recognises but does not speak (el, bg, ru, uk, ln,
ber): language "other", which one, and -- from locales/lexicon/any/request.txt, offer.txt and help/*.txt --
whether it asks or offers and what kind of help, so that the coordinator's hand-off says it.
Lingala and Berber in Latin letters are recognised by the words of lexicon/other/<code>.txt."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import locales
from handlers import language_id, lexicon
from handlers.understand import understand

TODAY = date(2026, 12, 7)  # a Monday
LOCALES = Path(locales.__file__).parent
TEN = ("nl", "fr", "en", "ar", "tr", "es", "pt", "it", "pl", "ro")
#: The languages recognised by lexicon/other/<code>.txt (with a few of their words, for reading this file).
STAND_IN = {
    "ln": "name: Lingála\nwords: mbote, matondi, nalingi, nazali, lelo, lobi, ngai, ndeko, lisalisi, ndako\n",
    "ber": "name: Tamaziɣt\nwords: azul, tanmirt, tanemmirt, amek, tellid, ulac, aghilif, xsegh, azekka, أزول, ⴰⵣⵓⵍ\n",
    "ru": "name: Русский\nwords: что, спасибо, пожалуйста, здравствуйте, помощь, нужно, очень, можно, это, хорошо\n",
    "uk": "name: Українська\nwords: що, дуже, будь ласка, дякую, сьогодні, допомога, треба, потрібно, ліки\n",
    "bg": "name: Български\nwords: какво, моля, благодаря, здравейте, днес, утре, помощ, съсед, искам, може ли\n",
    "el": "name: Ελληνικά\nwords: καλημέρα, ευχαριστώ, παρακαλώ, βοήθεια, χρειάζομαι, αύριο, σήμερα\n",
}


@pytest.fixture(scope="module")
def ten():
    """The repository's own locales: the ten languages and the other/ files of those it recognises."""
    lex = lexicon.current()
    assert [code for code in TEN if code not in lex.languages] == [] and set(STAND_IN) <= set(lex.others)
    return LOCALES


ASK, OFFER, CHAT = "request", "offer", "other"

MESSAGES = [
    # Russian
    ("Здравствуйте, кто может помочь мне с покупками в субботу?", "ru", ASK, "shopping"),
    ("Мне нужно лекарство из аптеки, я не могу выйти из дома", "ru", ASK, "shopping"),
    ("Кто-нибудь может отвезти меня к врачу в четверг?", "ru", ASK, "lift"),
    ("У меня перегорела лампочка на кухне, помогите пожалуйста", "ru", ASK, "repair"),
    ("Мне очень одиноко, хотелось бы с кем-нибудь поговорить", "ru", ASK, "company"),
    ("Не могли бы вы покормить мою кошку, пока я в больнице?", "ru", ASK, "pets"),
    ("Помогите заполнить документы для пенсии", "ru", ASK, "paperwork"),
    ("Я иду в магазин, могу купить что-нибудь для соседей", "ru", OFFER, "shopping"),
    ("У меня есть машина, могу подвезти кого-то в больницу", "ru", OFFER, "lift"),
    ("Спасибо большое, всё хорошо!", "ru", CHAT, None),
    # Ukrainian
    ("Доброго дня! Чи може хтось купити мені хліб і ліки?", "uk", ASK, "shopping"),
    ("Хто може відвезти мене до лікарні в понеділок?", "uk", ASK, "lift"),
    ("У мене не працює кран на кухні, хтось може полагодити?", "uk", ASK, "repair"),
    ("Мені самотньо, чи міг би хтось провідати мене?", "uk", ASK, "company"),
    ("Хто може погуляти з моєю собакою? Я захворіла.", "uk", ASK, "pets"),
    ("Потрібна допомога з листом від податкової", "uk", ASK, "paperwork"),
    ("Я можу допомогти з покупками, маю машину", "uk", OFFER, "shopping"),
    ("Дякую, усе гаразд, я сьогодні вдома", "uk", CHAT, None),
    # Bulgarian
    ("Здравейте, може ли някой да ми помогне с пазаруването утре?", "bg", ASK, "shopping"),
    ("Трябва ми някой да ме закара до лекаря в петък", "bg", ASK, "lift"),
    ("Крушката в банята изгоря, а аз не мога да се кача. Кой може да я смени?", "bg", ASK, "repair"),
    ("Много съм самотна, бих искала някой да ме посети", "bg", ASK, "company"),
    ("Може ли някой да разходи кучето ми в неделя?", "bg", ASK, "pets"),
    ("Имам нужда от помощ с един формуляр за общината", "bg", ASK, "paperwork"),
    ("Отивам до магазина, мога да купя нещо на някой съсед", "bg", OFFER, "shopping"),
    ("Благодаря, всичко е наред, лека нощ", "bg", CHAT, None),
    # Greek
    ("Καλημέρα, μπορεί κάποιος να μου κάνει τα ψώνια αύριο;", "el", ASK, "shopping"),
    ("Χρειάζομαι κάποιον να με πάει στο γιατρό την Πέμπτη", "el", ASK, "lift"),
    ("Χάλασε η βρύση στην κουζίνα, ποιος μπορεί να βοηθήσει;", "el", ASK, "repair"),
    ("Νιώθω μοναξιά, θα ήθελα λίγη συντροφιά", "el", ASK, "company"),
    ("Ποιος μπορεί να ταΐσει τη γάτα μου το Σαββατοκύριακο;", "el", ASK, "pets"),
    ("Πρέπει να συμπληρώσω μια αίτηση για την εφορία και δεν ξέρω πώς", "el", ASK, "paperwork"),
    ("Έχω αυτοκίνητο και ελεύθερο χρόνο, μπορώ να πάω κάποιον στο νοσοκομείο", "el", OFFER, "lift"),
    ("Πάω στο σούπερ μάρκετ, χρειάζεται κανείς κάτι;", "el", OFFER, "shopping"),
    ("Ευχαριστώ πολύ, καλό βράδυ!", "el", CHAT, None),
    # Lingala
    ("Mbote, nalingi moto asombela ngai biloko na zando lobi", "ln", ASK, "shopping"),
    ("Nazali na mposa ya moto akumba ngai na lopitalo", "ln", ASK, "lift"),
    ("Mwinda ya ndako na ngai ebukani, nani akoki kobongisa yango?", "ln", ASK, "repair"),
    ("Nazali ngai moko na ndako, nalingi moto ya kosolola na ngai", "ln", ASK, "company"),
    ("Nani akoki kolisa mbwa na ngai lelo?", "ln", ASK, "pets"),
    ("Nazwi mokanda ya leta, nayebi kotanga te. Lisalisi!", "ln", ASK, "paperwork"),
    ("Nazali kokende na zando, nakoki kosombela bino biloko", "ln", OFFER, "shopping"),
    ("Matondi mingi ndeko, tokomonana lobi", "ln", CHAT, None),
    # Berber: Kabyle/Tamazight in Latin letters, Tifinagh, Arabic script
    ("Azul, ttxil-k, yella win ara yi-d-yaɣen aɣrum seg tḥanut?", "ber", ASK, "shopping"),
    ("Azul, xsegh yiwen ad iyi-awi s tkerrust ɣer umejjay", "ber", ASK, "lift"),
    ("Azul, anwa i yezmren ad iyi-d-yessečč amcic-iw azekka?", "ber", ASK, "pets"),
    ("Ɛawen-iyi ad aruɣ tabrat i lmeri", "ber", ASK, "paperwork"),
    ("Zemreɣ ad ɛawneɣ imdukal, sɛiɣ takerrust", "ber", OFFER, "lift"),
    ("Tanemmirt, ulac aghilif", "ber", CHAT, None),
    ("ⴰⵣⵓⵍ, ⵜⴰⵃⴰⵏⵓⵜ", "ber", ASK, "shopping"),
    ("أزول، تاحانوت", "ber", ASK, "shopping"),
]


@pytest.mark.parametrize("text,other,kind,category", MESSAGES)
def test_other_languages_say_what_kind_of_help(ten, text, other, kind, category):
    found = understand(text, today=TODAY)
    assert (found.language, found.other_language, found.kind, found.category) == ("other", other, kind, category)


@pytest.mark.parametrize("text,other", [
    ("Я не могу сходить в магазин, кто может купить хлеб?", "ru"),
    ("Я не можу сама піти в аптеку, хто може принести ліки?", "uk"),
    ("Не мога да отида до магазина, може ли някой да ми купи хляб?", "bg"),
    ("Δεν μπορώ να πάω στο φαρμακείο, μπορεί κάποιος να μου φέρει τα φάρμακα;", "el"),
    ("Nakoki kosomba biloko na zando te, nazali na mposa ya lisalisi", "ln"),
])
def test_i_cannot_go_to_the_shop_is_a_request_not_an_offer(ten, text, other):
    """"Не могу ... купить" holds the offer phrase "могу ... купить": the "-не могу" line keeps it a request."""
    found = understand(text, today=TODAY)
    assert (found.other_language, found.kind, found.category) == (other, ASK, "shopping")


def test_every_language_and_category_is_covered():
    """The table above is not lopsided: each language has requests, an offer and small talk."""
    assert len(MESSAGES) >= 40
    for code in ("ru", "uk", "bg", "el", "ln", "ber"):
        kinds = {kind for _t, other, kind, _c in MESSAGES if other == code}
        assert kinds == {ASK, OFFER, CHAT}, code
    assert {c for *_x, c in MESSAGES} >= {"shopping", "lift", "repair", "company", "pets", "paperwork"}


@pytest.mark.parametrize("text,kind,category", [
    ("Zdravstvuyte, pomogite pozhaluysta, nuzhna pomoshch s pokupkami", ASK, "shopping"),   # Russian, Latin letters
    ("Mogu pomoch, mogu otvezti k vrachu", OFFER, "lift"),
    ("Potribna dopomoha, treba zapovnyty formu", ASK, "paperwork"),                          # Ukrainian
    ("Moga da pomogna s pazaruvane", OFFER, "shopping"),                                       # Bulgarian
    ("Kalimera, xreiazomai voitheia me ta psonia", ASK, "shopping"),                         # Greeklish
    ("Kapoios na potisei ta louloudia mou?", ASK, "pets"),
])
def test_transliterated_messages_name_the_help_whatever_language_they_are_taken_for(ten, text, kind, category):
    found = understand(text, today=TODAY)
    assert (found.kind, found.category) == (kind, category)


@pytest.mark.parametrize("text,language,kind,category", [
    ("Kan iemand morgen mijn boodschappen doen?", "nl", ASK, "shopping"),
    ("Je vais au marché demain, je peux ramener quelque chose", "fr", OFFER, "shopping"),
    ("Thanks, all good here!", "en", CHAT, None),
    ("I could walk your dog on Sunday", "en", OFFER, "pets"),
])
def test_the_bots_own_languages_read_as_before(ten, text, language, kind, category):
    found = understand(text, today=TODAY)
    assert (found.language, found.kind, found.category) == (language, kind, category)


def test_no_latin_word_of_lexicon_any_is_a_word_of_a_language_the_bot_speaks(ten):
    """Words in any/ are read in every message: one that is also a Dutch or Polish word would change its
    reading. A phrase of several words ("kto mozhet") is safe enough; a word on its own, or a prefix, is checked."""
    lex = lexicon.current()
    exact, prefixes = set(), set()
    for table in (lex.words.get("request", {}), lex.words.get("offer", {}), *lex.help.values()):
        for phrase in table.get(lexicon.ANY, []):
            if not phrase.startswith("-") and len(phrase.split()) == 1:
                words, starts = lexicon.phrase_words(phrase)
                exact.update(w for w in words if w.isascii())
                prefixes.update(w for w in starts if w.isascii())
    spoken = {w for w, langs in language_id.vocabulary(lex).exact.items() if set(langs) & set(lex.languages)}
    assert exact and prefixes
    assert not exact & spoken
    assert not {w for w in spoken for p in prefixes if w.startswith(p)}
