"""Which language a message is written in: the script first (Arabic, Cyrillic, Greek, Tifinagh
letters say a lot on their own), then two voices for Latin letters -- lingua's statistical models
(``lingua-language-detector``, restricted to the languages the bot speaks or recognises, low-accuracy
mode: small, fast and good enough once the lexicon votes) and the words of our own lexicons, which
know SMS spellings ("morgn", "boodschappn"), Darija in Latin letters ("3afak", "wa7ed") and the
languages lingua does not know (Lingala, Berber: ``locales/lexicon/other/*.txt``).

Short or ambiguous texts ("ok", "merci", "112") keep the person's own language (the hint).
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass
from functools import lru_cache

from handlers import lexicon

#: "Other" languages that lingua knows; Lingala and Berber are recognised by their words only.
LINGUA_OTHERS = ("el", "bg", "ru", "uk")
CYRILLIC = ("ru", "uk", "bg")
#: Arabizi: Arabic written in Latin letters uses digits for the sounds Latin lacks (3afak, wa7ed, y9der).
ARABIZI = re.compile(r"^(?=.*[a-z])(?:[a-z]*[23579][a-z]+|[a-z]+[23579][a-z]*)$")
#: Lexicon files of one-word answers: typed by anyone, so they tell no language.
ANSWERS = ("yes", "no", "optout", "optin", "info")
#: How much a word of locales/lexicon/other/<code>.txt weighs against a word of the bot's own lexicons.
OTHER_WEIGHT = 2.0
#: How much of a message the language is judged on (characters).
SAMPLE = 600
#: Letters of the Latin spelling of Berber (Kabyle, Tamazight) and Lingala that the bot's languages lack,
#: and letters only one of the bot's Latin-script languages writes ("Mulțumesc frumos" is not Spanish).
LETTERS = {"ɣ": "ber", "ɛ": "ber", "ɔ": "ln",
           "ț": "ro", "ţ": "ro", "ș": "ro", "ă": "ro",
           "ğ": "tr", "ı": "tr",
           "ł": "pl", "ą": "pl", "ę": "pl", "ś": "pl", "ź": "pl", "ż": "pl", "ń": "pl",
           "ñ": "es", "ã": "pt", "õ": "pt"}
#: Words this long are rarely shared by two languages ("boodschappen pls" is Dutch).
LONG = 7
#: Words shorter than this say little about a language on their own ("de", "la", "a").
SHORT = 3


@dataclass(frozen=True)
class Guess:
    language: str  # a language the bot speaks, or "other"
    other_language: str | None
    confidence: float
    #: The other languages whose words the message uses, most first ("Allee, demain?" -> fr besides nl),
    also: tuple[str, ...] = ()
    #: and those of them with at least one word of their own (not shared with another language).
    strong: tuple[str, ...] = ()


def _script(text: str) -> dict[str, int]:
    counts = {"latin": 0, "arabic": 0, "cyrillic": 0, "greek": 0, "tifinagh": 0}
    for ch in text:
        o = ord(ch)
        if o < 0x250:
            if ch.isalpha():
                counts["latin"] += 1
        elif 0x600 <= o <= 0x6FF or 0x750 <= o <= 0x77F or 0xFB50 <= o <= 0xFDFF or 0xFE70 <= o <= 0xFEFF:
            counts["arabic"] += 1
        elif 0x400 <= o <= 0x4FF:
            counts["cyrillic"] += 1
        elif 0x370 <= o <= 0x3FF or 0x1F00 <= o <= 0x1FFF:
            counts["greek"] += 1
        elif 0x2D30 <= o <= 0x2D7F:
            counts["tifinagh"] += 1
    return counts


@dataclass(eq=False)
class Vocabulary:
    """Every word of every lexicon file, per language: word -> {lang: weight}. A word that several
    languages share weighs less in each ("ambulance" says nothing, "boodschappen" says Dutch)."""

    exact: dict[str, dict[str, float]]
    prefixes: dict[str, dict[str, float]]  # "boodschap" (from "boodschap*") -> {lang: weight}
    prefix_lengths: tuple[int, ...]
    #: Short answers people type in any language ("ok", "merci", "yes", "stop"): they keep the person's own.
    neutral: frozenset[str]


@lru_cache(maxsize=4)
def vocabulary(lex: lexicon.Lexicon) -> Vocabulary:
    per_lang: dict[str, tuple[set[str], set[str]]] = {}

    def add(lang: str, phrases) -> None:
        exact, prefixes = per_lang.setdefault(lang, (set(), set()))
        for phrase in phrases:
            if phrase.startswith("-"):
                continue  # "not an emergency" lines name no words of the language
            e, p = lexicon.phrase_words(phrase)
            exact.update(e)
            prefixes.update(w for w in p if len(w) >= SHORT)

    for kind, langs in lex.words.items():
        for lang, phrases in langs.items():  # one-word answers too: "wakha" is Darija, "ok" weighs little
            if lang != lexicon.ANY:
                add(lang, phrases)
    for langs in lex.help.values():
        for lang, phrases in langs.items():
            if lang != lexicon.ANY:  # words of no language (lexicon/any/help) vote for none
                add(lang, phrases)
    for lang, keys in lex.when.items():
        for key, phrases in keys.items():
            if key != "not":
                add(lang, phrases)
    for code, info in lex.others.items():  # short words of their phrases ("na", "yo") are other languages' too
        add(code, [w for phrase in info["words"] for w in (phrase.split() if " " in phrase else [phrase])
                   if " " not in phrase or len(w) >= 4])
    for lang in lex.languages:
        per_lang.setdefault(lang, (set(), set()))[0].update(
            w for w in lex.language_words.get(lang, ()) if " " not in w and len(w) >= 4)
    exact: dict[str, dict[str, float]] = {}
    prefixes: dict[str, dict[str, float]] = {}
    for lang, (e, p) in per_lang.items():
        for w in e:
            exact.setdefault(w, {})[lang] = 1.0
        for w in p:
            prefixes.setdefault(w, {})[lang] = 1.0
    for table in (exact, prefixes):
        for w, langs in table.items():
            share = 1.0 / len(langs)
            for lang in langs:  # other/*.txt words were chosen to tell their language apart: they weigh double
                langs[lang] = share * (OTHER_WEIGHT if lang in lex.others else 1.0)
    neutral = {lexicon.fold_words(w) for kind in ANSWERS for phrases in lex.words.get(kind, {}).values()
               for w in phrases}
    return Vocabulary(exact, prefixes, tuple(sorted({len(p) for p in prefixes})), frozenset(neutral))


def letter_votes(text: str) -> dict[str, float]:
    """Votes of the letters only one language writes (read before folding takes the accents away)."""
    out: dict[str, float] = {}
    low = text.lower()
    for letter, code in LETTERS.items():
        found = low.count(letter)
        if found:
            weight = OTHER_WEIGHT if code in ("ber", "ln") else 1.0
            out[code] = min(3 * weight, out.get(code, 0.0) + found * weight)
    return out


def votes(tokens: list[str], lex: lexicon.Lexicon | None = None) -> tuple[dict[str, float], int]:
    """lang -> how many of the tokens are words of that language (shared words count in part), and
    how many tokens are words of some language at all."""
    voc = vocabulary(lex or lexicon.current())
    out: dict[str, float] = {}
    covered = 0
    for token in tokens:
        langs = voc.exact.get(token)
        if langs is None and ARABIZI.match(token):  # not "2moro", "2main": those are lexicon words
            out["ar"] = out.get("ar", 0.0) + 1.5
            covered += 1
            continue
        if langs is None:
            for n in voc.prefix_lengths:
                if n > len(token):
                    break
                langs = voc.prefixes.get(token[:n])
                if langs:
                    break
        if langs:
            covered += 1
            weight = 0.5 if len(token) < SHORT else 1.5 if len(token) >= LONG else 1.0  # long words tell more
            for lang, share in langs.items():
                out[lang] = out.get(lang, 0.0) + share * weight
    return out, covered


# ---- lingua, built once per set of languages (lazily: `buurtbot nlu` must start fast) ------------

_build_lock = threading.Lock()


@lru_cache(maxsize=4)
def _detector(codes: tuple[str, ...]):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    isos = []
    for code in codes:
        try:
            isos.append(IsoCode639_1.from_str(code))
        except (ValueError, KeyError, AttributeError):
            continue  # a language lingua does not know: its words still vote
    if len(isos) < 2:
        return None
    with _build_lock:
        return LanguageDetectorBuilder.from_iso_codes_639_1(*isos).with_low_accuracy_mode().build()


def _latin_codes(lex: lexicon.Lexicon) -> tuple[str, ...]:
    return tuple(code for code in lex.languages if code != "ar")


def lingua_scores(text: str, codes: tuple[str, ...]) -> dict[str, float]:
    detector = _detector(codes)
    if detector is None:
        return {}
    return {value.language.iso_code_639_1.name.lower(): value.value
            for value in detector.compute_language_confidence_values(text)}


def preload() -> None:
    """Build the detector and load its models now (a server does this at start, not on a message)."""
    lex = lexicon.current()
    lingua_scores("preload", _latin_codes(lex))
    lingua_scores("привет", LINGUA_OTHERS)
    vocabulary(lex)


def _spoken_or_other(code: str, confidence: float, lex: lexicon.Lexicon) -> Guess:
    if code in lex.languages:
        return Guess(code, None, confidence)
    return Guess("other", code, confidence)


def _cyrillic(text: str, voted: dict[str, float], lex: lexicon.Lexicon) -> Guess:
    """Letters that only one of them has decide; else lingua and the words of other/<code>.txt."""
    low = text.lower()
    if any(ch in low for ch in "їєґі"):
        return _spoken_or_other("uk", 0.95, lex)
    if any(ch in low for ch in "ыэё"):
        return _spoken_or_other("ru", 0.9, lex)
    scores = lingua_scores(text, CYRILLIC)
    total = sum(voted.get(code, 0.0) for code in CYRILLIC)
    combined = {code: 0.5 * scores.get(code, 0.0) + 0.5 * voted.get(code, 0.0) / total if total else
                scores.get(code, 0.0) for code in CYRILLIC}
    best = max(combined, key=combined.get)
    return _spoken_or_other(best, round(combined[best], 3) or 0.5, lex)


def identify(text: str, tokens: list[str], hint: str | None = None) -> Guess:
    """The language of ``text`` (``tokens``: its folded words). ``hint``: the person's own language."""
    guess = _identify(text, tokens, hint)
    voted, _covered = votes(tokens[:SAMPLE // 4])
    also = tuple(code for code in sorted(voted, key=voted.get, reverse=True)
                 if voted[code] >= 0.5 and code != guess.language and code in lexicon.current().languages)
    return Guess(guess.language, guess.other_language, guess.confidence, also,
                 tuple(code for code in also if voted[code] >= 1))


def _identify(text: str, tokens: list[str], hint: str | None) -> Guess:
    lex = lexicon.current()
    text, tokens = text[:SAMPLE], tokens[:SAMPLE // 4]  # a page tells no more than its start; lingua slows
    hint = hint if hint in lex.languages else None
    fallback = Guess(hint or next(iter(lex.languages), "en"), None, 0.0)
    script = _script(text)
    letters = sum(script.values())
    if not letters:
        return fallback
    top = max(script, key=script.get)
    if script["tifinagh"]:
        return Guess("other", "ber", 0.9)
    if top == "greek":
        return _spoken_or_other("el", 0.95, lex)
    voted, covered = votes(tokens, lex)
    for code, weight in letter_votes(text).items():
        voted[code] = voted.get(code, 0.0) + weight
    marked = sum(1 for word in text.lower().split() if any(letter in word for letter in LETTERS))
    covered = min(len(tokens), covered + marked)  # a word with a telling letter tells as much as a known word
    if top == "cyrillic":
        return _cyrillic(text, voted, lex)
    if top == "arabic":
        ber = voted.get("ber", 0.0)
        if ber > voted.get("ar", 0.0) and ber >= 1:
            return Guess("other", "ber", min(0.9, 0.5 + ber / 10))
        return _spoken_or_other("ar", 0.95, lex)
    return _latin(text, tokens, voted, covered, hint, lex) or fallback


def _latin(text: str, tokens: list[str], voted: dict[str, float], covered: int, hint: str | None,
           lex: lexicon.Lexicon) -> Guess | None:
    """lingua and the lexicons' words together. The more of the message our words cover, the more
    they count: lingua reads "Allee, c'est pas grave" as Dutch, three of its four words are French."""
    words = [t for t in tokens if any(ch.isalpha() for ch in t)]
    if not words:
        return None
    neutral = vocabulary(lex).neutral
    if hint and (" ".join(words) in neutral or all(w in neutral for w in words)):
        return Guess(hint, None, 0.5)
    total = sum(voted.values())
    # Lingala and Berber in Latin letters: only their own words can tell.
    for code in ("ln", "ber"):
        if voted.get(code, 0) >= 1 and voted[code] >= 0.4 * total and voted[code] == max(voted.values()):
            return Guess("other", code, min(0.95, voted[code] / max(total, 1)))
    if voted.get("ar", 0) >= 1.5 and voted["ar"] >= 0.4 * total:
        return _spoken_or_other("ar", min(0.95, voted["ar"] / max(total, 1)), lex)
    candidates = _latin_codes(lex)
    scores = lingua_scores(text, candidates)
    weight = (0.2 + 0.6 * min(1.0, covered / len(words))) if total else 0.0
    combined = {}
    for code in candidates:
        share = voted.get(code, 0.0) / total if total else 0.0
        combined[code] = (1 - weight) * scores.get(code, 0.0) + weight * share
    best = max(combined, key=combined.get)
    if combined[best] < 0.1 and not total:
        return None  # nothing to go on ("hi", "ok"): the person's own language
    if hint and hint != best and hint in combined:
        plausible = combined[hint] >= 0.12 or voted.get(hint, 0) > 0
        unsure = len(words) <= 3 or combined[best] < 0.5 or combined[best] - combined[hint] < 0.15
        if plausible and unsure:
            best = hint
    return Guess(best, None, round(min(1.0, combined[best]), 3))


lexicon.on_change(lambda: vocabulary.cache_clear())
