"""Words as data: every word the bot reacts to is read from plain text files under ``locales/``.

A buurtwerker adds a phrase by adding a line, and a language by adding a folder -- no Python.
``locales/lexicon/<lang>/<kind>.txt`` holds one phrase per line (``#`` starts a comment);
``locales/lexicon/any/`` holds words that belong to no language the bot speaks ("112", "evet").
``language.txt`` and ``commands.txt`` hold ``key: value`` lines. See locales/lexicon/README.md.

ONE place names the languages: a language exists when it has both a catalog
(``locales/<lang>/LC_MESSAGES/messages.po``) and ``locales/lexicon/<lang>/language.txt``.

The tables below (LANGUAGES, COMMANDS, YES, ...) are filled in place, so modules that imported
them see a new directory after :func:`use` (tests point the loader at a copy with one language more).
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import locales

DEFAULT_DIRECTORY = Path(locales.__file__).parent
#: The folder of words that belong to no language of their own.
ANY = "any"
#: The folder of languages the bot recognises but does not speak (one ``<code>.txt`` each).
OTHER = "other"
#: Kinds of signal, in the order they are checked.
SIGNAL_KINDS = ("emergency", "suicide", "concern", "company", "professional", "problem")
#: SMS/WhatsApp whole-message keywords: file name -> the payload the dispatcher handles.
KEYWORD_FILES = {"optout": "optout", "optin": "optin", "info": "keyword-help"}

DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "01234567890123456789")


_NOT_A_WORD = re.compile(r"[^\w' ]+")


def fold(text: str) -> str:
    """Lowercase, no accents, no emoji or punctuation at the ends: "  Oui ! " -> "oui".
    Called several times for every message: plain ASCII (digits, "ja", "menu") skips the
    decomposition, which changes nothing there."""
    text = text.translate(DIGITS).lower()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(_NOT_A_WORD.sub(" ", text).split())


#: Letters without a decomposition that people type without them: "sœur" = "soeur", "almıyor" = "almiyor".
LETTERS = str.maketrans({"’": "'", "`": "'", "´": "'", "œ": "oe", "æ": "ae", "ß": "ss", "ı": "i", "ø": "o",
                         "ł": "l", "đ": "d", "Œ": "oe", "Æ": "ae", "Ø": "o", "Ł": "l"})


def fold_words(text: str) -> str:
    """``fold`` for matching phrases: curly apostrophes too, and apostrophes dropped, so that
    "can’t", "can't" and "cant" (and "n'ouvre", "nouvre") are the same words."""
    return fold(text.translate(LETTERS)).replace("'", "")


def phrase_words(phrase: str) -> tuple[list[str], list[str]]:
    """The folded words of a phrase, and its prefixes (``boodschap*`` -> "boodschap"); ``*``, ``...``
    and the ``a/b`` slashes are syntax, not words."""
    exact, prefixes = [], []
    for token in phrase.replace("/", " ").split():
        if token in ("*", "..."):
            continue
        target = prefixes if len(token) > 1 and token.endswith("*") else exact
        target.extend(fold_words(token).split())
    return exact, prefixes


@dataclass(eq=False)  # compared and hashed by identity: caches keep one entry per loaded directory
class Lexicon:
    """Everything read from one locales directory."""

    directory: Path
    languages: dict[str, str] = field(default_factory=dict)  # code -> own name, in the order offered
    format_locales: dict[str, str] = field(default_factory=dict)
    language_words: dict[str, set[str]] = field(default_factory=dict)  # code -> folded words that choose it
    greetings: dict[str, tuple[str, str]] = field(default_factory=dict)  # code -> (welcome, "choose your language")
    codes: dict[str, str] = field(default_factory=dict)  # language tag ("pt-br", "nl") -> the language that serves it
    directions: dict[str, str] = field(default_factory=dict)  # code -> "rtl" | "ltr" (language.txt `direction:`)
    #: code -> (Twilio <Say> voice, its language tag) for phone calls (language.txt `voice:`, `voice_language:`).
    voices: dict[str, tuple[str, str]] = field(default_factory=dict)
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)  # name -> every word for it
    command_names: dict[tuple[str, str], str] = field(default_factory=dict)  # (name, lang) -> its slash word
    words: dict[str, dict[str, list[str]]] = field(default_factory=dict)  # kind -> lang -> phrases
    #: Free-text understanding (handlers/understand.py): category -> lang -> phrases (help/*.txt),
    help: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: lang -> key (today, tomorrow, next_week, monday...) -> phrases (when.txt),
    when: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    #: and the languages recognised but not spoken (lexicon/other/<code>.txt): code -> name, words, ack.
    others: dict[str, dict[str, str | set[str]]] = field(default_factory=dict)


def read_lines(path: Path) -> list[str]:
    """The phrases of a file: one a line, ``#`` comments and blank lines skipped."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            out.append(line)
    return out


def read_pairs(path: Path, lists: bool = True) -> list[tuple[str, list[str]]]:
    """``key: a, b, c`` lines (``lists=False``: the value is one text, commas and all)."""
    out = []
    for line in read_lines(path):
        key, sep, value = line.partition(":")
        if sep:
            values = value.split(",") if lists else [value]
            out.append((key.strip().lower(), [v.strip() for v in values if v.strip()]))
    return out


def pairs(path: Path) -> dict[str, list[str]]:
    """``read_pairs`` as a dict; a key on several lines (``words:``) gathers all their values."""
    out: dict[str, list[str]] = {}
    for key, values in read_pairs(path):
        out.setdefault(key, []).extend(values)
    return out


def has_catalog(directory: Path, code: str) -> bool:
    base = directory / code / "LC_MESSAGES"
    return (base / "messages.po").exists() or (base / "messages.mo").exists()


def load(directory: Path) -> Lexicon:
    lex = Lexicon(Path(directory))
    root = lex.directory / "lexicon"
    folders = sorted(p for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    ranked = []
    for folder in folders:
        code = folder.name
        if code in (ANY, OTHER) or not (folder / "language.txt").exists() or not has_catalog(lex.directory, code):
            continue
        info = pairs(folder / "language.txt")
        info = {key: values if key == "words" else [", ".join(values)] for key, values in info.items()}
        name = (info.get("name") or [code])[0]
        ranked.append((int((info.get("order") or ["99"])[0]), code, name, info))
    for _rank, code, name, info in sorted(ranked):
        lex.languages[code] = name
        lex.format_locales[code] = (info.get("locale") or [code])[0]
        lex.language_words[code] = {fold(w) for w in [code, name, *info.get("words", [])]}
        lex.greetings[code] = ((info.get("welcome") or [""])[0], (info.get("choose") or [""])[0])
        lex.directions[code] = "rtl" if (info.get("direction") or ["ltr"])[0].strip().lower() == "rtl" else "ltr"
        lex.codes[code] = code  # a language's own code is its own, whatever another lists
        if info.get("voice") and info.get("voice_language"):
            lex.voices[code] = (info["voice"][0], info["voice_language"][0])
        for tag in (info.get("codes") or [""])[0].split(","):  # `codes: pt-br, pt-pt, gl`
            tag = tag.strip().lower().replace("_", "-")
            if tag:
                lex.codes.setdefault(tag, code)
    for code in [*lex.languages, ANY]:
        folder = root / code
        for name, aliases in read_pairs(folder / "commands.txt"):
            words = tuple(fold(a) for a in aliases)
            if words and code != ANY:
                lex.command_names[(name, code)] = words[0]
            lex.commands[name] = tuple(dict.fromkeys((*lex.commands.get(name, (name,)), *words)))
        for file in folder.glob("*.txt") if folder.is_dir() else ():
            if file.stem == "words":  # everyday words, comma separated: they only tell the language
                lex.words.setdefault("words", {})[code] = [w.strip() for line in read_lines(file)
                                                            for w in line.split(",") if w.strip()]
            elif file.stem not in ("language", "commands", "when"):
                lex.words.setdefault(file.stem, {})[code] = read_lines(file)
        for file in sorted((folder / "help").glob("*.txt")) if (folder / "help").is_dir() else ():
            lex.help.setdefault(file.stem, {})[code] = read_lines(file)
        if (folder / "when.txt").exists():
            when = lex.when.setdefault(code, {})
            for key, values in read_pairs(folder / "when.txt"):
                when.setdefault(key, []).extend(values)
    for file in sorted((root / OTHER).glob("*.txt")) if (root / OTHER).is_dir() else ():
        info = pairs(file)
        lex.others[file.stem] = {"name": ", ".join(info.get("name", [file.stem])),
                                 "words": {fold_words(w) for w in info.get("words", [])} - {""},
                                 "ack": ", ".join(info.get("ack", []))}
    return lex


# ---- the current lexicon, and the tables other modules import ------------------------------

#: code -> the language's own name, in the order the language question offers them.
LANGUAGES: dict[str, str] = {}
#: code -> the Babel locale for dates and numbers (Locale.negotiate would map nl to nl_NL).
FORMAT_LOCALES: dict[str, str] = {}
#: language tag (Telegram's language_code, IETF: "pt-br", "ar-ma") -> the language that serves it (`codes:`).
CODES: dict[str, str] = {}
#: code -> "rtl" or "ltr" (language.txt `direction:`, ltr when absent).
DIRECTIONS: dict[str, str] = {}
#: command name -> every word that calls it (slash or typed), in every language.
COMMANDS: dict[str, tuple[str, ...]] = {}
#: any of those words -> the command name.
ALIASES: dict[str, str] = {}
#: Folded words that mean yes / no, in every language.
YES: set[str] = set()
NO: set[str] = set()

_current: Lexicon | None = None
_lock = threading.Lock()
_listeners: list[Callable[[], None]] = []


def current() -> Lexicon:
    return _current if _current is not None else use(DEFAULT_DIRECTORY)


def use(directory: Path | str) -> Lexicon:
    """Read the words (and, through the listeners, the catalogs) from ``directory`` from now on."""
    global _current
    with _lock:
        lex = load(Path(directory))
        _fill(LANGUAGES, lex.languages)
        _fill(FORMAT_LOCALES, lex.format_locales)
        _fill(CODES, lex.codes)
        _fill(DIRECTIONS, lex.directions)
        _fill(COMMANDS, lex.commands)
        _fill(ALIASES, {w: name for name, words in lex.commands.items() for w in words})
        for target, kind in ((YES, "yes"), (NO, "no")):
            target.clear()
            target.update(fold(w) for phrases in lex.words.get(kind, {}).values() for w in phrases)
        _current = lex
    for listener in list(_listeners):
        listener()
    return lex


@contextmanager
def using(directory: Path | str):
    """Read from ``directory`` for a while (tests), then from the directory used before."""
    before = current().directory
    use(directory)
    try:
        yield current()
    finally:
        use(before)


def _fill(target: dict, values: dict) -> None:
    target.clear()
    target.update(values)


def on_change(listener: Callable[[], None]) -> Callable[[], None]:
    """Call ``listener`` whenever :func:`use` reads another directory (caches built on the words)."""
    _listeners.append(listener)
    return listener


def voice(code: str) -> tuple[str, str] | None:
    """A language's phone-call voice and its language tag (language.txt), or None."""
    return current().voices.get(code)


def directory() -> Path:
    return current().directory


def phrases(kind: str) -> dict[str, list[str]]:
    """lang -> the phrases of one kind (``any`` for words of no particular language)."""
    return current().words.get(kind, {})


def language_words(code: str) -> set[str]:
    return current().language_words.get(code, set())


#: How many languages greet a newcomer in the language question's text. Every language is a
#: button (its own name), but ten greetings make an SMS of eight segments and a wall of text.
GREETED = 3


def language_question(first: str | None = None) -> str:
    """The first thing a newcomer reads: "Welkom bij buurtbot! · Bienvenue ! · Welcome!", in the
    language their phone or first words suggest (``first``) and the first languages offered."""
    codes = list(dict.fromkeys([c for c in (first,) if c in LANGUAGES] + list(LANGUAGES)[:GREETED]))
    greetings = [current().greetings.get(code, ("", "")) for code in codes]
    welcome = " · ".join(w for w, _c in greetings if w)
    choose = " · ".join(c for _w, c in greetings if c)
    return f"{welcome}\n{choose}:" if welcome else f"{choose}:"


def command_name(name: str, language: str | None) -> str:
    """The slash word a person of ``language`` knows a command by: ("language", "nl") -> "taal"."""
    lex = current()
    return lex.command_names.get((name, language or ""), lex.command_names.get((name, "en"), name))


use(DEFAULT_DIRECTORY)
