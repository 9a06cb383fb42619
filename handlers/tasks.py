"""Volunteers and requesters around one request: see open requests, claim, hand back, done,
thank, cancel, and pass messages between the two without sharing phone numbers."""
from __future__ import annotations

from handlers import payloads, reminders
from handlers.ask import notify_volunteers
from handlers.core import Answer, Context, Option, clean_text
from handlers.i18n import _, fragment, ngettext
from handlers.labels import STATUS_LABELS, category, request_line, requester_name
from handlers.menu import menu_options, show_menu
from handlers.steps import step
from models import HelpRequest
from models.tasks import claim, claims_this_week, hand_back, mark_done, open_requests, requests_of, tasks_of
from models.tasks import cancel as cancel_request


def _request(ctx: Context, raw: str | None) -> HelpRequest | None:
    if not raw or not raw.isdecimal() or len(raw) > 12:  # int() refuses "²", which isdigit() accepts
        return None
    return ctx.session.get(HelpRequest, int(raw))


def refuse(ctx: Context, text: str | None = None) -> None:
    show_menu(ctx, text or _("Sorry, that is not possible (any more)."))


def show_open(ctx: Context, kind: str | None = None) -> None:
    """The open requests a volunteer may take; ``kind``: only those of one category (an offer
    typed in words: "I'm going to the shop anyway" -> the open shopping requests)."""
    p = ctx.person
    if not p.is_approved_volunteer:
        refuse(ctx, _("A coordinator still needs to approve you as a volunteer. Then you will see requests here."))
        return
    reqs = [r for r in open_requests(ctx.session, p.neighbourhood_id, category=kind) if r.requester_id != p.id]
    if kind is not None and not reqs:
        show_menu(ctx, _("Thank you for offering! There are no open requests for {category} right now.",
                         category=category(kind)))
        return
    if not reqs:
        show_menu(ctx, _("There are no open requests right now. Thank you for checking!"))
        return
    lines = "\n\n".join(request_line(r) for r in reqs[:5])
    ctx.clear()
    ctx.say(_("Open requests in your neighbourhood:") + "\n\n" + lines,
            [Option(_("Take #{id}", id=r.id), payloads.claim(r.id)) for r in reqs[:5]] + [Option(_("Menu"), "menu")],
            purge_after_send=True)  # names neighbours: a view, not kept after delivery


def do_claim(ctx: Context, raw: str | None) -> None:
    p, req = ctx.person, _request(ctx, raw)
    if (
        req is None
        or not p.is_approved_volunteer
        or req.neighbourhood_id != p.neighbourhood_id
        or req.requester_id == p.id
    ):
        refuse(ctx)
        return
    if req.claimed_by_id == p.id and req.status == "claimed":
        show_claimed(ctx, req)
        if req.visit_at is None:  # the question of when was not answered yet
            reminders.ask_when(ctx, req)
        return
    if req.status != "open":
        show_menu(ctx, _("Thank you! Someone else is already helping with this one. 💛"))
        return
    if claims_this_week(ctx.session, p.id) >= p.max_tasks_per_week:
        show_menu(ctx, ngettext("You already reached your limit of {n} task this week. Thank you for all you do! "
                                "You can change the limit with the coordinator.",
                                "You already reached your limit of {n} tasks this week. Thank you for all you do! "
                                "You can change the limit with the coordinator.", p.max_tasks_per_week))
        return
    if not claim(ctx.session, req.id, p.id):
        show_menu(ctx, _("Thank you! Someone else was just a little faster and is helping with this one. 💛"))
        return
    ctx.session.refresh(req)
    reminders.claimed(ctx.session, req)
    show_claimed(ctx, req)
    reminders.ask_when(ctx, req)
    if req.requester:
        ctx.tell(
            req.requester,
            lambda: (
                _(
                    "Good news: {name} will help you with request #{id} ({category}). {name} will get in touch.",
                    name=p.first_name,
                    id=req.id,
                    category=category(req.category),
                ) + " " + reminders.word_line(p.first_name, req.doorstep_word),
                [
                    Option(_("Message {name}", name=p.first_name), payloads.message(req.id)),
                    Option(_("Menu"), "menu"),
                ],
            ),
            about=p.id,
        )


def show_claimed(ctx: Context, req: HelpRequest) -> None:
    requester = req.requester
    address = req.address.address_full if req.address else (requester.address_full if requester else None)
    reach = _("Phone: {phone}", phone=requester.phone) if requester and requester.phone else _("You can send a message "
                                                                                               "through buurtbot.")
    ctx.clear()
    if req.media:
        ctx.say(_("{name} sent this with the request:", name=requester_name(req) or "-"), media=req.media,
                about=req.requester_id)
    ctx.say(_("Thank you! Request #{id} is yours.\n{category}: “{description}”\nWho: {name}\nAddress: "
              "{address}\n{reach}",
              id=req.id, category=category(req.category), description=req.description,
              name=requester_name(req) or "-", address=address or "-", reach=reach),
            task_options(req), about=req.requester_id)


def task_options(req: HelpRequest) -> list[Option]:
    return [Option(_("Done"), payloads.done(req.id)), Option(_("Send a message"), payloads.message(req.id)),
            Option(_("Hand back"), payloads.hand_back(req.id))]


def do_hand_back(ctx: Context, raw: str | None) -> None:
    p, req = ctx.person, _request(ctx, raw)
    if req is None or req.claimed_by_id != p.id or req.status != "claimed":
        refuse(ctx)
        return
    hand_back(ctx.session, req, p.id)
    reminders.handed_back(ctx.session, req, ctx.now)
    show_menu(ctx, _("No problem, thank you for letting us know. We will look for someone else."))
    if req.requester:
        ctx.tell(req.requester, lambda: (_("{name} cannot help with request #{id} after all. We are looking for "
                                           "someone else.", name=p.first_name, id=req.id), []), about=p.id)
    notify_volunteers(ctx, req, exclude={p.id})


def do_done(ctx: Context, raw: str | None) -> None:
    p, req = ctx.person, _request(ctx, raw)
    if req is None or req.status != "claimed" or p.id not in (req.claimed_by_id, req.requester_id):
        refuse(ctx)
        return
    mark_done(ctx.session, req, p.id)
    reminders.closed(ctx.session, req)
    volunteer = req.claimed_by
    if p.id == req.claimed_by_id:
        show_menu(ctx, _("Wonderful, thank you for helping a neighbour! 🌻"))
        if req.requester:
            ctx.tell(
                req.requester,
                lambda: (
                    _(
                        "{name} marked request #{id} as done. Would you like to send a thank-you?",
                        name=p.first_name,
                        id=req.id,
                    ),
                    [Option(_("Send a thank-you"), payloads.thanks(req.id)), Option(_("Menu"), "menu")],
                ),
                about=p.id,
            )
    else:
        show_menu(ctx, _("Thank you, request #{id} is closed.", id=req.id),)
        if volunteer:
            ctx.tell(
                volunteer,
                lambda: (
                    _("{name} marked request #{id} as done. Thank you for helping! 🌻", name=p.first_name, id=req.id),
                    [],
                ),
                about=p.id,
            )


def do_thanks(ctx: Context, raw: str | None) -> None:
    p, req = ctx.person, _request(ctx, raw)
    if req is None or req.requester_id != p.id or req.status != "done" or req.claimed_by is None:
        refuse(ctx)
        return
    show_menu(ctx, _("Your thank-you is on its way."))
    ctx.tell(
        req.claimed_by,
        lambda: (_("{name} says thank you for your help with request #{id}! 💛", name=p.first_name, id=req.id), []),
        about=p.id,
    )


def show_mine(ctx: Context) -> None:
    reqs = requests_of(ctx.session, ctx.person.id, ("open", "claimed", "referred"))
    if not reqs:
        show_menu(ctx, _("You have no open requests."))
        return
    lines = "\n".join(f"{fragment(f'#{r.id}')} {category(r.category)}: {_(STATUS_LABELS[r.status])}" for r in reqs)
    ctx.clear()
    ctx.say(_("Your requests:") + "\n" + lines,
            [Option(_("Cancel #{id}", id=r.id), payloads.cancel(r.id)) for r in reqs if r.status in ("open", "claimed")]
            + [Option(_("Menu"), "menu")])


def show_tasks(ctx: Context) -> None:
    reqs = tasks_of(ctx.session, ctx.person.id)
    if not reqs:
        show_menu(ctx, _("You have no tasks at the moment."))
        return
    ctx.clear()
    ctx.say(_("Your tasks:") + "\n\n" + "\n\n".join(request_line(r) for r in reqs),
            [o for r in reqs[:3] for o in (Option(_("Done #{id}", id=r.id), payloads.done(r.id)),
                                           Option(_("Hand back #{id}", id=r.id), payloads.hand_back(r.id)))]
            + [Option(_("Menu"), "menu")], purge_after_send=True)  # names neighbours: not kept after delivery


def do_cancel(ctx: Context, raw: str | None) -> None:
    p, req = ctx.person, _request(ctx, raw)
    if req is None or req.requester_id != p.id or req.status not in ("open", "claimed", "referred"):
        refuse(ctx)
        return
    volunteer = req.claimed_by if req.status == "claimed" else None
    cancel_request(ctx.session, req, p.id)
    reminders.closed(ctx.session, req)
    show_menu(ctx, _("Request #{id} is cancelled.", id=req.id))
    if volunteer:
        ctx.tell(
            volunteer,
            lambda: (
                _("{name} cancelled request #{id}. No need to go any more, thank you!", name=p.first_name, id=req.id),
                [],
            ),
            about=p.id,
        )


def start_message(ctx: Context, raw: str | None) -> None:
    req = _request(ctx, raw)
    if (
        req is None
        or req.status not in ("claimed", "done")
        or ctx.person.id not in (req.claimed_by_id, req.requester_id)
    ):
        refuse(ctx)
        return
    ctx.goto("relay", request_id=req.id)
    ctx.say(_("Type your message. I will pass it on."))


@step("relay")
def on_relay(ctx: Context, answer: Answer) -> None:
    req = ctx.session.get(HelpRequest, ctx.data("request_id") or 0)
    text = clean_text(answer.text, 1000)
    p = ctx.person
    if req is None or p.id not in (req.claimed_by_id, req.requester_id):
        refuse(ctx)
        return
    if not text:
        ctx.say(_("Type your message. I will pass it on."))
        return
    other = req.claimed_by if p.id == req.requester_id else req.requester
    ctx.clear()
    if other is None or not ctx.tell(other, lambda: (
        _("Message from {name} about request #{id}:\n“{text}”", name=p.first_name, id=req.id, text=text),
        [Option(_("Reply"), payloads.message(req.id)), Option(_("Menu"), "menu")],
    ), about=p.id):
        show_menu(ctx, _("Sorry, I could not pass on your message. Choose “Talk to a person” and the coordinator will "
                         "help."))
        return
    ctx.say(_("Sent."), menu_options(ctx))
