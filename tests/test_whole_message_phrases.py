"""A cry for help is often one word ("Помогите!", "Βοήθεια!", "Lisalisi!") that also opens ordinary requests
("помогите с покупками"): a signal phrase starting with ``=`` counts only as the whole message
(handlers/keywords.py)."""
from __future__ import annotations

import re

import pytest

from handlers.keywords import alternation, signals
from handlers.lexicon import fold_words


def test_a_whole_message_phrase_matches_only_the_whole_folded_message():
    pattern = re.compile(alternation(["=help me/us", "house is burning"]))
    for text in ("Help me!!!", "  HELP US 😭", "help me."):
        assert pattern.search(fold_words(text)), text
    for text in ("help me with the shopping", "can you help me", "please help me please"):
        assert not pattern.search(fold_words(text)), text
    assert pattern.search(fold_words("Quick, the house is burning!")), "ordinary phrases still match anywhere"


@pytest.mark.parametrize("text", ["Помогите!", "допоможіть!!", "Помощ!", "Βοήθεια!", "Lisalisi!", "3awnet!"])
def test_the_cry_alone_is_an_emergency(text):
    assert signals(text) == {"emergency"}


@pytest.mark.parametrize("text", ["Помогите с покупками, пожалуйста", "Допоможіть з покупками",
                                  "Χρειάζομαι βοήθεια με ένα γράμμα", "Nazali na mposa ya lisalisi"])
def test_the_same_word_in_a_request_is_not(text):
    assert signals(text) == set()
