"""Who may do what: the authorization matrix, played as forged or stale button presses on
SQLite and PostgreSQL. Each refused action leaves the database as it was and shows nothing
the person may not see."""
from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select

from models import HelpRequest, Outbox
from models.network import add_neighbourhood, create_invite
from tests.flowkit import Do, Msg, Row, T, dispatcher, has, last_request, person, pid, play, resident, volunteer  # noqa: F401

REFUSALS = (
    "Sorry, that is not possible (any more).",
    "Sorry, only coordinators of this neighbourhood can do that.",
    "Sorry, only coordinators can do that.",
    "A coordinator still needs to approve you as a volunteer. Then you will see requests here.",
    "This button is no longer valid.",  # the record it acts on does not exist (issue 9, point 14)
)
STREET, ADDRESS, WHAT = "Kerkstraat", "Kerkstraat 12, 1040 Etterbeek", "Een pak water van de Carrefour"
B_STREET, B_WHAT = "Rue Gray", "Un coup de main au jardin"


@dataclass
class Refused(Msg):
    """A kind refusal in the person's language, without anyone's request details."""

    lang: str = "en"

    def problems(self, msg: dict, v: dict) -> list[str]:
        out = super().problems(msg, v)
        if not any(str(T(r, self.lang)) in msg["text"] for r in REFUSALS):
            out.append("not a refusal")
        for secret in (STREET, WHAT, B_STREET, B_WHAT):
            if secret in msg["text"]:
                out.append(f"shows {secret!r}")
        return out


def refused(lang="en") -> Refused:
    return Refused(lang=lang)


def rid(key):
    return lambda v: v[key]


def state(key, status, claimer=None):
    """The request ``key`` is still in ``status`` (claimed by ``claimer`` if given)."""
    def check(s, v):
        r = s.get(HelpRequest, v[key])
        assert r.status == status, (key, r.status)
        if claimer is not None:
            assert r.claimed_by_id == pid(s, claimer), (key, r.claimed_by_id)
    return check


def vol_status(who, status):
    def check(s, v):
        assert person(s, who).volunteer_status == status, (who, person(s, who).volunteer_status)
    return check


def _elders(s, v):
    nb = add_neighbourhood(s, "Elders", "elders", ["1050"], default_language="fr", contact_name="Omar")
    v["omar_code"] = create_invite(s, nb, "coordinator").code


def ask(who, what, address, key):
    return [Row(who, payload="ask"), Row(who, "1"), Row(who, what), Row(who, "3"), Row(who, address),
            Row(who, "yes", keep=lambda s, v: v.update({key: last_request(s).id}))]


NETWORK = (
    [
        Do(_elders),
        Row("omar", lambda v: f"/start {v['omar_code']}"),
        Row("omar", "English"),
        Row("omar", "yes"),
        Row("omar", "Omar", reply=has(options=("coord",))),
    ]
    + resident("maria", "Maria", "en")
    + resident("rosa", "Rosa", "en")
    + resident("bert", "Bert", "fr", postcode="1050")
    + volunteer("jan", "Jan", "en")
    + volunteer("kim", "Kim", "en")
    + volunteer("pam", "Pam", "en", approve=False)
    + volunteer("eli", "Eli", "en", postcode="1050", coordinator="omar")
    + ask("maria", WHAT, ADDRESS, "a")
    + ask("bert", B_WHAT, "Rue Gray 40", "b")
)

def rid_claim(v):
    return f"claim:{v['a']}"


MATRIX = [
    # a resident cannot approve, decline or pause volunteers
    Row(
        "maria",
        payload=lambda v: f"vol:ok:{v['_pid']('pam')}",
        reply=refused(),
        silent=("pam",),
        db=vol_status("pam", "pending"),
    ),
    Row(
        "maria",
        payload=lambda v: f"vol:pause:{v['_pid']('jan')}",
        reply=refused(),
        silent=("jan",),
        db=vol_status("jan", "approved"),
    ),
    Row("maria", payload="coord:pending", reply=refused(), db=vol_status("pam", "pending")),
    Row("maria", payload="coord:open", reply=refused()),
    # ... nor can a volunteer
    Row("jan", payload=lambda v: f"vol:ok:{v['_pid']('pam')}", reply=refused(), db=vol_status("pam", "pending")),
    Row("jan", payload=lambda v: f"vol:no:{v['_pid']('kim')}", reply=refused(), db=vol_status("kim", "approved")),
    # a pending volunteer sees no open requests and cannot claim
    Row("pam", payload="open", reply=refused()),
    Row("pam", payload=rid_claim, reply=refused(), silent=("maria",), db=state("a", "open")),
    Row("pam", "/menu", reply=has(no_options=("open", "tasks"))),
    # a coordinator of another neighbourhood cannot approve, decline or pause ours, nor see our requests
    Row(
        "omar",
        payload=lambda v: f"vol:ok:{v['_pid']('pam')}",
        reply=refused(),
        silent=("pam",),
        db=vol_status("pam", "pending"),
    ),
    Row("omar", payload=lambda v: f"vol:no:{v['_pid']('pam')}", reply=refused(), db=vol_status("pam", "pending")),
    Row(
        "omar",
        payload=lambda v: f"vol:pause:{v['_pid']('jan')}",
        reply=refused(),
        silent=("jan",),
        db=vol_status("jan", "approved"),
    ),
    Row("omar", payload="coord:pending", reply=has(lacks=("Pam",))),
    Row("omar", payload="coord:open", reply=has(B_WHAT, lacks=(WHAT, STREET))),
    Row("omar", payload=rid_claim, reply=refused(), db=state("a", "open")),
    # and ours cannot touch theirs
    Row(
        "coordinator",
        payload=lambda v: f"vol:pause:{v['_pid']('eli')}",
        reply=refused(),
        db=vol_status("eli", "approved"),
    ),
    Row("coordinator", payload="coord:open", reply=has(WHAT, lacks=(B_WHAT, B_STREET))),
    # a volunteer of neighbourhood B cannot claim a request of A (and vice versa)
    Row("eli", payload=rid_claim, reply=refused(), silent=("maria",), db=state("a", "open")),
    Row("eli", payload="open", reply=has(B_WHAT, lacks=(WHAT,))),
    Row("jan", payload=lambda v: f"claim:{v['b']}", reply=refused(), silent=("bert",), db=state("b", "open")),
    # nobody claims their own request; ids that do not exist are refused
    Row("jan", payload="claim:999999", reply=refused()),
    Row("jan", payload="done:999999", reply=refused()),
    # Jan claims Maria's request
    Row("jan", payload=rid_claim, reply=has(ADDRESS), told={"maria": has("Jan")}, db=state("a", "claimed", "jan")),
    # only the claimer or the requester can mark it done
    Row(
        "rosa",
        payload=lambda v: f"done:{v['a']}",
        reply=refused(),
        silent=("maria", "jan"),
        db=state("a", "claimed", "jan"),
    ),
    Row("kim", payload=lambda v: f"done:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    Row("coordinator", payload=lambda v: f"done:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    Row("omar", payload=lambda v: f"done:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    # only the claimer hands back
    Row("kim", payload=lambda v: f"handback:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    Row("maria", payload=lambda v: f"handback:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    # only the requester cancels
    Row(
        "jan", payload=lambda v: f"cancel:{v['a']}", reply=refused(), silent=("maria",), db=state("a", "claimed", "jan")
    ),
    Row("rosa", payload=lambda v: f"cancel:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    Row("coordinator", payload=lambda v: f"cancel:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    # messages: only the two people of the request
    Row("rosa", payload=lambda v: f"msg:{v['a']}", reply=refused(), db=state("a", "claimed", "jan")),
    Row("kim", payload=lambda v: f"msg:{v['a']}", reply=refused()),
    Row("kim", "Hallo Maria, ik ben het", silent=("maria", "jan")),
    Row("omar", payload=lambda v: f"msg:{v['a']}", reply=refused()),
    # thanks: only the requester, only once done
    Row("maria", payload=lambda v: f"thanks:{v['a']}", reply=refused(), silent=("jan",)),
    Row("maria", payload=lambda v: f"done:{v['a']}", told={"jan": None}, db=state("a", "done")),
    Row("rosa", payload=lambda v: f"thanks:{v['a']}", reply=refused(), silent=("jan",)),
    Row("jan", payload=lambda v: f"thanks:{v['a']}", reply=refused(), silent=("maria",)),
    Row("maria", payload=lambda v: f"thanks:{v['a']}", told={"jan": has("Maria")}),
    # positive control: our coordinator may approve our pending volunteer
    Row(
        "coordinator",
        payload=lambda v: f"vol:ok:{v['_pid']('pam')}",
        told={"pam": has(options=("open",))},
        db=vol_status("pam", "approved"),
    ),
    # ... but not make a volunteer of someone who never offered
    Row("coordinator", payload=lambda v: f"vol:ok:{v['_pid']('rosa')}", reply=refused(), db=vol_status("rosa", None)),
]


def test_authorization_matrix(chat):
    play(chat, NETWORK + MATRIX)
    with chat.sessions() as s:
        # a volunteer who was pending when the request went out never got anyone's street
        for who in ("pam", "eli", "rosa"):
            texts = [r.text for r in s.scalars(select(Outbox).where(Outbox.address == who))]
            assert texts and not any(STREET in t or WHAT in t for t in texts), (who, texts)
        assert not any(
            B_STREET in r.text for r in s.scalars(select(Outbox).where(Outbox.address.in_(("jan", "kim", "pam"))))
        )


@pytest.mark.parametrize(
    "forged",
    [
        "vol:ok:-1",
        "vol:ok:",
        "vol:ok:abc",
        "vol:maybe:2",
        "vol:ok:99999999999999999999",
        "coord:invite:admin",
        "coord:../../",
        "claim:1;DROP TABLE people",
        "claim:-1",
        "done:1 OR 1=1",
        "msg:0",
        "thanks:",
        "cancel:1e3",
        "claim:٣",
        "claim:²",
        "vol:ok:²",
        "vlv:",
        "vlv:note:abc",
        "vlv:clear:-1:2",
    ],
)
def test_forged_payloads_are_refused_without_change(chat, forged):
    rows = (
        resident("maria", "Maria", "en")
        + volunteer("pam", "Pam", "en", approve=False)
        + [
            Row("maria", payload="menu"),  # "Not now" to the first request (point 18): no question open
            Row(
                "maria",
                payload=forged,
                reply=has(options=("ask",)),
                silent=("pam", "coordinator"),
                db=vol_status("pam", "pending"),
            ),
            Row(
                "pam",
                payload=forged,
                reply=has(options=("ask",)),
                silent=("maria", "coordinator"),
                db=vol_status("pam", "pending"),
            ),
        ]
    )
    play(chat, rows)


# ---- the coordinator-only actions, refused to every other role --------------------------------------------------
#
# HOW TO ADD A ROW: append a ``CoordinatorAction`` to COORDINATOR_ACTIONS --
#   name     a few words for the failure message,
#   send     what is sent: ``payload=...`` (a button) or ``text=...`` (typed, a command like "/week"); a callable gets
#            the values ``v`` (``v["_pid"]("pam")`` is Pam's id, ``v["a"]`` Maria's request),
#   ours     True when it acts on one record of our neighbourhood (a volunteer, a person, a case): then the
#            coordinator of another neighbourhood is refused as well; False when it opens the sender's own
#            neighbourhood's view or flow (a list, an invite): they get theirs, which must not show ours,
#   allowed  what our own coordinator gets for it: the positive control that proves the row reaches the action,
#   own_db   (ours=False only) what may change when the other coordinator does it in their own neighbourhood.
# Every role in ROLES is then refused (a kind refusal in their language, nothing of ours shown, Pam and our
# coordinator told nothing) with NO change in the database: every table but the conversation's own
# (CONVERSATION_TABLES) is compared row by row before and after. Then our coordinator runs each row (``allowed``).
# The people and records the rows can name are set up in COORDINATION (and NETWORK above).

NOTE = "Kan enkel op woensdag"  # our coordinator's private note about Pam: nobody else may ever see it
CONVERSATION_TABLES = {"inbound_log", "outbox", "conversation_states", "outbox_senders", "sweep_runs"}
TOUCHED_ON_INBOUND = {("channel_identities", "last_inbound_at"), ("channel_identities", "active")}
BROADCAST = "Soep op het plein zaterdag"  # our neighbourhood's planned broadcast
WORRY = "Meneer M. haalt zijn medicatie al drie weken niet op"  # a worry a pharmacist told our coordinator
SECRETS = ("Pam", "Pia", NOTE, WHAT, STREET, BROADCAST, WORRY[:30])


def snapshot(s) -> dict[str, list[tuple]]:
    """Every row of every table that a refused action must leave as it was."""
    from models import Base

    out = {}
    for table in Base.metadata.sorted_tables:
        if table.name in CONVERSATION_TABLES:
            continue
        cols = [c for c in table.columns if (table.name, c.name) not in TOUCHED_ON_INBOUND]
        out[table.name] = [tuple(map(repr, row)) for row in s.execute(select(*cols).order_by(*table.primary_key))]
    return out


@dataclass
class CoordinatorAction:
    name: str
    payload: object = None
    text: object = ""
    ours: bool = True
    allowed: Msg | None = None
    own_db: object = None


def _pam_note(s, v):
    assert person(s, "pam").coordinator_note == NOTE, person(s, "pam").coordinator_note


def _no_invite_of_ours_by_omar(s, v):
    from models import Invite, Neighbourhood

    demo = s.scalar(select(Neighbourhood.id).where(Neighbourhood.slug == "demo"))
    assert not s.scalars(select(Invite).where(Invite.created_by_id == pid(s, "omar"),
                                              Invite.neighbourhood_id == demo)).all()


COORDINATOR_ACTIONS = [  # in the order our coordinator runs them at the end: lists before decisions
    CoordinatorAction("the coordinator menu", payload="coord", ours=False, allowed=has(options=("coord:pending",))),
    CoordinatorAction("the pending list", payload="coord:pending", ours=False,
                      allowed=has("Pam", options=(lambda v: f"vlv:{v['_pid']('pam')}",))),
    CoordinatorAction("the volunteers list", payload="coord:volunteers", ours=False,
                      allowed=has("Jan", options=(lambda v: f"vlv:{v['_pid']('jan')}",))),
    CoordinatorAction("unclaimed requests", payload="coord:open", ours=False, allowed=has(WHAT)),
    CoordinatorAction("a volunteer's card", payload=lambda v: f"vlv:{v['_pid']('pam')}",
                      allowed=has("Pam", NOTE, options=(lambda v: f"vlv:note:{v['_pid']('pam')}",))),
    CoordinatorAction("write a note", payload=lambda v: f"vlv:note:{v['_pid']('pam')}",
                      allowed=has(options=(lambda v: f"vlv:{v['_pid']('pam')}",))),
    CoordinatorAction("remove the note", payload=lambda v: f"vlv:clear:{v['_pid']('pam')}",
                      allowed=has(T("The note is removed.", "en"))),
    CoordinatorAction("approve a volunteer", payload=lambda v: f"vol:ok:{v['_pid']('pam')}",
                      allowed=has(T("{name} is now an approved volunteer.", "en", name="Pam"))),
    CoordinatorAction("decline a volunteer", payload=lambda v: f"vol:no:{v['_pid']('pia')}",
                      allowed=has(T("{name} was declined.", "en", name="Pia"))),
    CoordinatorAction("pause a volunteer", payload=lambda v: f"vol:pause:{v['_pid']('kim')}",
                      allowed=has(T("{name} is paused.", "en", name="Kim"))),
    CoordinatorAction("someone's week timeline", payload=lambda v: f"wk:{v['_pid']('maria')}", allowed=has("Maria")),
    CoordinatorAction("invite a volunteer", payload="coord:invite:volunteer", ours=False,
                      own_db=_no_invite_of_ours_by_omar, allowed=has("/start")),
    CoordinatorAction("invite a coordinator", payload="coord:invite:coordinator", ours=False,
                      own_db=_no_invite_of_ours_by_omar, allowed=has("/start")),
    CoordinatorAction("ask for a neighbour", payload="coord:proxy", ours=False,
                      allowed=has(T("For whom do you ask? Type their first name. Volunteers will see this name and "
                                    "the street; you stay the contact.", "en"))),
    CoordinatorAction("/week", text="/week", ours=False, allowed=has()),
    CoordinatorAction("the week button", payload="wk", ours=False, allowed=has()),
    CoordinatorAction("assign a phone round", payload="rd:new", ours=False, allowed=has()),
    CoordinatorAction("enrol a weekly hello", payload="plan:enrol", ours=False,
                      allowed=has(T("A weekly hello for someone who agreed to it. What is their first name?", "en"))),
    CoordinatorAction("whom to invite", payload="coord:invite", ours=False,
                      allowed=has(options=("coord:invite:partner", "coord:invite:keyfigure"))),
    CoordinatorAction("invite a partner", payload="coord:invite:partner", ours=False,
                      own_db=_no_invite_of_ours_by_omar, allowed=has("/start")),
    CoordinatorAction("invite a key figure", payload="coord:invite:keyfigure", ours=False,
                      own_db=_no_invite_of_ours_by_omar, allowed=has("/start")),
    # issue 12: broadcasts (handlers/broadcast_chat.py) and cases (handlers/cases.py)
    CoordinatorAction("/broadcast", text="/broadcast", ours=False, allowed=has(T(
        "A message to your neighbourhood. Type it as the neighbours should read it, in your own language. Next you "
        "choose who gets it; nothing is sent before you have seen a preview.", "en"))),
    CoordinatorAction("the broadcast button", payload="bc:new", ours=False, allowed=has()),
    CoordinatorAction("the list of broadcasts", payload="bc:list", ours=False, allowed=has(BROADCAST)),
    CoordinatorAction("stop a broadcast", payload=lambda v: f"bc:cancel:{v['bc']}",
                      allowed=has(options=(lambda v: f"bc:stop:{v['bc']}",))),
    CoordinatorAction("stop it for good", payload=lambda v: f"bc:stop:{v['bc']}",
                      allowed=has(lambda v: T("Message #{id} is stopped.", "en", id=v["bc"]))),
    CoordinatorAction("the case list", payload="case:list", ours=False, allowed=has(WORRY[:30])),
    CoordinatorAction("a case", payload=lambda v: f"case:show:{v['case']}", allowed=has(WORRY[:30])),
    CoordinatorAction("take a case", payload=lambda v: f"case:take:{v['case']}", allowed=has()),
    CoordinatorAction("plan a visit for a case", payload=lambda v: f"case:do:visit:{v['case']}", allowed=has()),
    CoordinatorAction("close a case", payload=lambda v: f"case:close:{v['case']}", allowed=has()),
]

#: who -> their language: every role that is not a coordinator of our neighbourhood.
ROLES = {"paula": "fr", "kees": "nl", "omar": "en", "jan": "en", "maria": "en"}


def _roles(s, v):
    person(s, "paula").is_partner = True  # a pharmacist: a partner of the neighbourhood
    person(s, "kees").is_key_figure = True  # a shopkeeper everyone knows


def _pam_has_a_note(s, v):
    person(s, "pam").coordinator_note = NOTE


def _our_broadcast_and_case(s, v):
    """A planned broadcast and a worry of our neighbourhood: what the rows above act on."""
    from datetime import timedelta

    from handlers.broadcasts import Audience, confirm, create
    from models.base import utcnow
    from models.cases import open_case

    me = person(s, "coordinator")
    bc = create(s, me.neighbourhood, me, {"en": BROADCAST}, "en", Audience(), send_at=utcnow() + timedelta(days=2))
    confirm(s, bc, utcnow())
    v["bc"] = bc.id
    v["case"] = open_case(s, "concern", me.neighbourhood_id, text=WORRY, reporter_id=pid(s, "maria")).id


COORDINATION = NETWORK + resident("paula", "Paula", "fr") + resident("kees", "Kees", "nl") + [
    Row("paula", payload="menu"), Row("kees", payload="menu"),  # "Not now" to the first request: no question open
    Do(_roles),
] + volunteer("pia", "Pia", "en", approve=False) + [Do(_pam_has_a_note), Do(_our_broadcast_and_case)]


def _before(s, v):
    v["before"] = snapshot(s)


def _unchanged(skip=()):
    def check(s, v):
        after = snapshot(s)
        for table, rows in v["before"].items():
            if table not in skip:
                assert after[table] == rows, f"{table} changed"
    return check


def refusal_rows(who: str, lang: str) -> list:
    rows = []
    for a in COORDINATOR_ACTIONS:
        if who == "omar" and not a.ours:  # their own neighbourhood's view: nothing of ours in it
            skip = ("invites", "audit_log") if a.own_db else ()
            rows += [Do(_before), Row(who, a.text, payload=a.payload, reply=has(lacks=SECRETS), silent=("pam",),
                                      db=lambda s, v, a=a, skip=skip: (_unchanged(skip)(s, v),
                                                                       a.own_db and a.own_db(s, v)))]
        else:
            rows += [Do(_before), Row(who, a.text, payload=a.payload, reply=refused(lang),
                                      silent=("pam", "coordinator"), db=_unchanged())]
        rows.append(Row(who, payload="menu"))  # out of any question the action may have opened
    return rows


@pytest.mark.parametrize("who", list(ROLES))
def test_coordinator_actions_are_refused_to_every_other_role(chat, who):
    v = play(chat, COORDINATION + refusal_rows(who, ROLES[who]))
    with chat.sessions() as s:
        assert person(s, "pam").volunteer_status == "pending" and person(s, "pam").coordinator_note == NOTE
        texts = [r.text for r in s.scalars(select(Outbox).where(Outbox.address == who))]
        assert not any(NOTE in t for t in texts)
    # the positive control: each row reaches its action for our coordinator
    play(chat, [Row("coordinator", a.text, payload=a.payload, reply=a.allowed)
                for a in COORDINATOR_ACTIONS], v)
