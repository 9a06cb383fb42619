"""Joining as a new user would (issue 9 points 16, 17, 18): invited volunteers state their
limits, multi-select questions say what is missing and keep the own language, and "I would
like help" goes straight into a request."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from models import ChannelIdentity, ConversationState, HelpRequest
from models.network import create_invite, neighbourhood_by_slug
from tests.flowkit import Do, Row, T, count, dispatcher, has, person, play  # noqa: F401  (fixture)


def _invite(role):
    def make(s, v):
        v["code"] = create_invite(s, neighbourhood_by_slug(s, "demo"), role).code
    return make


def chosen(who):
    def read(s):
        return s.scalar(select(ConversationState.data).join(ChannelIdentity)
                        .where(ChannelIdentity.address == who))["chosen"]
    return read


def _limits(who, categories, languages, cap, duo, status="approved"):
    def check(s, v):
        p = person(s, who)
        got = (p.categories, p.languages_spoken, p.max_tasks_per_week, p.duo_only, p.volunteer_status)
        assert got == (categories, languages, cap, duo, status), got
    return check


# ---- 16: an invitation vouches, it does not decide the limits --------------------------------

INVITED = [
    Do(_invite("volunteer")),
    Row("vera", lambda v: f"/start {v['code']}"),
    Row("vera", payload="lang:nl"),
    Row("vera", "ja"),
    Row("vera", "Vera", reply=has(options=("offercat:shopping", "offercat:done"), no_options=("role:help",))),
    Row("vera", "1 2"),
    Row("vera", payload="offerlang:fr", reply=has(options=("offerlang:done",))),
    Row("vera", payload="offerlang:done", reply=has(options=("cap:1", "cap:5"))),
    Row("vera", payload="cap:1"),
    # approved without a coordinator's approval, as before: nobody is asked to approve her
    Row("vera", payload="yes", reply=has(options=("open", "tasks")), silent=("coordinator",),
        db=_limits("vera", ["shopping", "lift"], ["nl", "fr"], 1, True)),
]

# Someone already on buurtbot who gets a volunteer invite states their limits too.
INVITED_LATER = [
    Row("rik", "/start"), Row("rik", payload="lang:en"), Row("rik", "1040"), Row("rik", "yes"), Row("rik", "Rik"),
    Row("rik", payload="role:help"),
    Do(_invite("volunteer")),
    Row("rik", lambda v: f"/start {v['code']}", reply=has(options=("offercat:repair",))),
    Row("rik", "3"), Row("rik", payload="offercat:done"), Row("rik", "en"), Row("rik", payload="cap:2"),
    Row("rik", payload="no", silent=("coordinator",), db=_limits("rik", ["repair"], ["en"], 2, False)),
]

# ---- 17: "Done" with nothing ticked says what is missing; the own language stays ticked -----

MULTI_SELECT = [
    Row("vic", "/start"), Row("vic", payload="lang:nl"), Row("vic", "1040"), Row("vic", "ja"), Row("vic", "Vic"),
    Row("vic", payload="role:give", reply=has(options=("offercat:done",))),
    Row("vic", T("Done", "nl"), reply=has(T("Please choose at least one kind of task.", "nl"))),
    Row("vic", payload="offercat:pets"),
    Row("vic", T("Done", "nl"), reply=has(T("{language}, your own language, is always included.", "nl",
                                            language="Nederlands"), options=("offerlang:nl", "offerlang:done"))),
    # a first tap on the preselected own language does not untick it
    Row("vic", payload="offerlang:nl", db=lambda s, v: chosen("vic")(s) == ["nl"] or pytest.fail(chosen("vic")(s))),
    Row("vic", payload="offerlang:ar", db=lambda s, v: chosen("vic")(s) == ["nl", "ar"] or pytest.fail("ar")),
    Row("vic", payload="offerlang:ar", db=lambda s, v: chosen("vic")(s) == ["nl"] or pytest.fail("ar off")),
    Row("vic", T("Done", "nl"), reply=has(T("How many tasks a week at most? You can change this later.", "nl"))),
    Row("vic", payload="cap:3"),
    Row("vic", "nee", told={"coordinator": has("Vic", options=("vol:ok:",))},
        db=_limits("vic", ["pets"], ["nl"], 3, False, status="pending")),
]

# Typed names of other languages keep the own language too.
TYPED_LANGUAGES = [
    Row("lou", "/start"), Row("lou", payload="lang:fr"), Row("lou", "1040"), Row("lou", "oui"), Row("lou", "Lou"),
    Row("lou", payload="role:give"), Row("lou", "1 3"),
    Row("lou", "en ar", reply=has(options=("cap:1",)),
        db=lambda s, v: person(s, "lou").languages_spoken == ["fr", "en", "ar"] or pytest.fail("own language lost")),
]

# ---- 18: "I would like help" starts the request ----------------------------------------------

FIRST_REQUEST = [
    Row("mia", "/start"), Row("mia", payload="lang:nl"), Row("mia", "1040"), Row("mia", "ja"), Row("mia", "Mia"),
    Row("mia", payload="role:help", reply=has(T("What kind of help do you need?", "nl"),
                                              options=("cat:shopping", "cat:other", "menu"))),
    Row("mia", "1", reply=has(T("In a few words: what would you like help with?", "nl"))),
    Row("mia", "Melk en brood van de winkel"),
    Row("mia", payload="when:week"),
    Row("mia", "Kerkstraat 12", reply=has(options=("yes", "no"))),
    Row("mia", "ja", db=lambda s, v: (s.scalar(select(HelpRequest.description)) == "Melk en brood van de winkel"
                                      or pytest.fail("no request"))),
]

# "Not now" leads to the menu; nothing is asked.
FIRST_REQUEST_LATER = [
    Row("max", "/start"), Row("max", payload="lang:en"), Row("max", "1040"), Row("max", "yes"), Row("max", "Max"),
    Row("max", payload="role:help", reply=has(options=("cat:other", "menu"))),
    Row("max", "12", reply=has(T("What kind of help do you need?", "en"), options=("cat:other", "menu"))),
    Row("max", T("Not now", "en"), reply=has(options=("ask", "human")),
        db=lambda s, v: count(s, HelpRequest) == 0 or pytest.fail("a request")),
]

TABLES = {"invited": INVITED, "invited later": INVITED_LATER, "multi-select": MULTI_SELECT,
          "typed languages": TYPED_LANGUAGES, "first request": FIRST_REQUEST,
          "first request later": FIRST_REQUEST_LATER}


@pytest.mark.parametrize("table", list(TABLES))
def test_joining(chat, table):
    play(chat, TABLES[table])
