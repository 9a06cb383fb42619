"""Signals in free text, checked in every language whatever the person's own: emergencies
(112 at once), thoughts of suicide (1813 too), worries about a neighbour (coordinator only),
a wish for more company (an offer of a call or a visit, noted for the coordinator only) and
needs that belong with professionals (a referral, not a volunteer task).

A simple list per language, on purpose: it is read and extended by buurtwerkers, not data
scientists. False alarms cost a kind sentence; a missed emergency costs more.
"""
from __future__ import annotations

import re

from handlers.answers import fold

LEXICON: dict[str, dict[str, list[str]]] = {
    "emergency": {
        "nl": ["112", "ambulance", "noodgeval", "bewusteloos", "hartaanval", "beroerte", "kan niet ademen",
               "ademt niet", "bloedt", "bloeding", "ligt op de grond", "gevallen en kan niet", "er is brand",
               "het brandt", "brand in", "gaslek", "reageert niet", "doet de deur niet open"],
        "fr": ["urgence", "ambulance", "inconscient", "inconsciente", "crise cardiaque", "avc", "ne respire",
               "respire plus", "saigne", "hemorragie", "par terre", "tombe et ne peut", "incendie", "au feu",
               "fuite de gaz", "ne repond plus", "n'ouvre pas la porte", "ouvre pas la porte"],
        "en": ["emergency", "ambulance", "unconscious", "heart attack", "stroke", "can't breathe",
               "cannot breathe", "not breathing", "bleeding", "on the floor", "fallen and can't", "fire in",
               "gas leak", "not responding", "doesn't open the door", "does not open the door"],
    },
    "suicide": {
        "nl": ["zelfmoord", "zelfdoding", "niet meer leven", "er een eind aan maken", "er een einde aan maken",
               "wil dood"],
        "fr": ["suicide", "me suicider", "me tuer", "en finir", "plus envie de vivre"],
        "en": ["suicide", "kill myself", "end my life", "want to die"],
    },
    "concern": {
        "nl": ["niet meer gezien", "niet gezien", "rolluiken", "gordijnen dicht", "brievenbus vol",
               "zorgen over mijn buur", "zorgen over mevrouw", "zorgen over meneer"],
        "fr": ["pas vu", "plus vu", "volets", "boite aux lettres pleine", "inquiet pour", "inquiete pour"],
        "en": ["haven't seen", "have not seen", "not seen", "shutters", "curtains closed", "worried about"],
    },
    "company": {
        "nl": ["eenzaam", "zie bijna niemand", "zie niemand meer", "met niemand gesproken", "niemand om mee te praten",
               "woon ik alleen", "ik ben alleen", "babbeltje"],
        "fr": ["je me sens seul", "je me sens seule", "je ne vois personne", "vois plus personne",
               "personne a qui parler", "je suis seul", "je suis seule", "je vis seul", "je vis seule"],
        "en": ["lonely", "i see nobody", "no one to talk to", "nobody to talk to", "haven't spoken to anyone",
               "i live alone", "on my own since"],
    },
    "professional": {
        "nl": ["verpleging", "verpleegkundige", "thuisverpleging", "wassen en aankleden", "medicatie geven",
               "dementie", "schulden", "geldproblemen", "huur betalen", "huisvesting", "woning aanpassen",
               "advocaat", "juridisch", "rechtbank", "depressie", "mantelzorger", "kan het niet meer aan", "overbelast",
               "badkuip", "in bad stappen", "belastingen", "belastingaangifte"],
        "fr": ["soins infirmiers", "soins a domicile", "infirmier", "infirmiere", "faire ma toilette", "medicaments", "demence", "alzheimer", "dettes",
               "problemes d'argent", "loyer", "logement", "adapter mon logement", "avocat", "juridique", "tribunal",
               "depression", "aidant proche", "baignoire", "impots", "declaration d'impot"],
        "en": ["nursing", "nurse", "personal care", "washing and dressing", "medication", "dementia", "debt",
               "debts", "money problems", "rent", "housing", "lawyer", "legal", "court", "depression",
               "carer", "bathtub", "taxes", "tax return"],
    },
}

_PATTERNS = {
    kind: re.compile(r"\b(?:" + "|".join(re.escape(fold(w)) for lang in langs.values() for w in lang) + r")\b")
    for kind, langs in LEXICON.items()
}


def signals(text: str) -> set[str]:
    """Which kinds of signal a text carries, e.g. {"emergency"}."""
    folded = fold(text)
    return {kind for kind, pattern in _PATTERNS.items() if pattern.search(folded)}
