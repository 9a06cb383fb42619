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
