"""TwiML for a check-in call, built with twilio.twiml.voice_response.

Written to be heard, not read: the row's text is said once, whole (it ends with the options),
then "to hear this again, press zero"; silence gets one re-prompt, then a goodbye and the call
ends. Every <Say> is in the row's language with that language's voice (TWILIO_VOICES, else
``voice:``/``voice_language:`` in locales/lexicon/<lang>/language.txt). Keypresses only:
Twilio's speech recognition does not offer nl-BE or fr-BE.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from twilio.twiml.voice_response import VoiceResponse

from handlers import lexicon
from handlers.i18n import _, speaking

#: Seconds Twilio waits for a key after the prompt: people who answer slowly are not rushed.
GATHER_TIMEOUT = 8
#: Bidirectional marks (handlers/i18n.isolate) mean nothing to a speech engine.
_MARKS = re.compile("[\u200e\u200f\u2066-\u2069]")


@dataclass(frozen=True)
class Voice:
    """How to speak one language: Twilio's ``voice`` and ``language`` attributes (None: Twilio's default)."""

    name: str | None = None
    language: str | None = None

    def attrs(self) -> dict[str, str]:
        return {k: v for k, v in (("voice", self.name), ("language", self.language)) if v}


def parse_voices(setting: str | None) -> dict[str, str]:
    """TWILIO_VOICES ("nl=Polly.Lisa-Neural,fr=Polly.Isabelle-Neural") -> {"nl": ..., "fr": ...}."""
    out = {}
    for item in (setting or "").split(","):
        code, sep, name = item.partition("=")
        if sep and code.strip() and name.strip():
            out[code.strip().lower()] = name.strip()
    return out


def voice_for(language: str, overrides: dict[str, str] | None = None) -> Voice:
    """The configured voice of ``language`` (an override keeps the language's tag)."""
    own = lexicon.voice(language)
    name = (overrides or {}).get(language) or (own[0] if own else None)
    return Voice(name, own[1] if own else None)


#: A line ending in one of these is a sentence already; another line gets a full stop, so the
#: engine pauses where a reader's eye would.
_ENDS = ".!?…:;,؟。"


def spoken(text: str) -> str:
    """The text as a speech engine should get it: no direction marks, no line breaks."""
    lines = [line.strip() for line in _MARKS.sub("", text or "").splitlines()]
    return " ".join(line if line[-1] in _ENDS else line + "." for line in lines if line)


class Calls:
    """The TwiML of one call. ``action(attempt)``: the absolute Gather action URL."""

    def __init__(self, voice: Voice, language: str, action: Callable[[int], str]) -> None:
        self.voice, self.language, self.action = voice, language, action

    def _say(self, node, text: str) -> None:
        text = spoken(text)
        if text:
            node.say(text, **self.voice.attrs())

    def _gather(self, response: VoiceResponse, prompt: str, attempt: int) -> None:
        gather = response.gather(input="dtmf", num_digits=1, action=self.action(attempt), method="POST",
                                 timeout=GATHER_TIMEOUT)
        self._say(gather, prompt)
        with speaking(self.language):
            # TRANSLATORS: said on a phone call by a speech engine: short, plain, numbers as words.
            self._say(gather, _("To hear this again, press zero."))

    def _goodbye(self, response: VoiceResponse) -> str:
        with speaking(self.language):
            # TRANSLATORS: said on a phone call by a speech engine: short, plain, numbers as words.
            self._say(response, _("Goodbye."))
        response.hangup()
        return str(response)

    def menu(self, prompt: str, attempt: int = 1, before: str = "") -> str:
        """The prompt with its keys; when nothing is pressed, one re-prompt (if this is not
        already the second), then goodbye."""
        response = VoiceResponse()
        self._say(response, before)
        self._gather(response, prompt, attempt)
        if attempt < 2:
            with speaking(self.language):
                # TRANSLATORS: said on a phone call by a speech engine: short, plain, numbers as words.
                self._say(response, _("I did not hear a choice."))
            self._gather(response, prompt, 2)
        return self._goodbye(response)

    def wrong_key(self, prompt: str, attempt: int) -> str:
        """A key with no choice: said so, and the prompt once more -- once."""
        with speaking(self.language):
            # TRANSLATORS: said on a phone call by a speech engine: short, plain, numbers as words.
            sorry = _("Sorry, that key is not one of the choices.")
        if attempt < 2:
            return self.menu(prompt, 2, before=sorry)
        return self.words(sorry)

    def silence(self, prompt: str, attempt: int) -> str:
        """Nothing pressed (Twilio posted an empty ``Digits``): the same as a wrong key."""
        with speaking(self.language):
            heard = _("I did not hear a choice.")
        return self.menu(prompt, 2, before=heard) if attempt < 2 else self.words(heard)

    def words(self, text: str) -> str:
        """Say ``text``, goodbye, hang up (an answer's thanks; a replayed keypress: only goodbye)."""
        response = VoiceResponse()
        self._say(response, text)
        return self._goodbye(response)

    def voicemail(self, text: str) -> str:
        """What an answering machine records: the short message only, never the menu."""
        response = VoiceResponse()
        self._say(response, text)
        response.hangup()
        return str(response)


def hang_up() -> str:
    """For a call whose row is gone: nothing said."""
    response = VoiceResponse()
    response.hangup()
    return str(response)
