"""handlers.typos: a slip of the finger is read as the word meant; another word is left alone
(a false emergency for "upadł na duchu" -- lost heart -- read as "na dachu", on the roof, is not kind)."""
from __future__ import annotations

import pytest

from handlers.typos import Corrector, slip


@pytest.mark.parametrize("typed,meant", [
    ("ambulnace", "ambulance"),      # two letters swapped
    ("ambulace", "ambulance"),       # one left out
    ("ambulannce", "ambulance"),     # one doubled
    ("ambulamce", "ambulance"),      # the key next to it
    ("ambulence", "ambulance"),      # a vowel for a vowel in a long word
    ("inconciente", "inconsciente"),
    ("grnd", "grond"),               # four letters: one left out of five
])
def test_slips_are_read_as_the_word(typed, meant):
    assert slip(typed, meant)
    assert Corrector([meant, "other", "words"]).word(typed) == meant


@pytest.mark.parametrize("typed,word", [
    ("duchu", "dachu"),              # a vowel for a vowel in a short word: another word
    ("الحريرة", "الحريقة"),          # harira (a soup) is not the fire: keys far apart
    ("bloeit", "bloedt"),
])
def test_other_words_are_not_read_as_the_word(typed, word):
    assert Corrector([word]).word(typed) is None


def test_known_words_and_short_words_are_never_read_as_another():
    reader = Corrector(["niets", "ademen"], known=["adem"])
    assert reader.word("niet") == "niets"
    assert Corrector(["niets", "niet"]).word("niet") is None   # a word of the list itself ("ademt niet/niets")
    assert reader.word("adem") is None        # known elsewhere
    assert reader.word("ade") is None         # too short to tell


def test_every_reading_of_an_ambiguous_typo_is_offered_the_likeliest_first():
    readings = list(Corrector(["terre", "there"]).readings("par tere"))
    assert readings == ["par terre", "par there"]
    assert Corrector(["terre"]).correct("rien a lire") is None
