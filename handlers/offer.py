"""Offering help: which kinds of task, which languages, how many a week, duo visits only.
A new volunteer is pending until a coordinator approves, and sees no personal details."""
from __future__ import annotations

from handlers import payloads
from handlers.answers import fold, numbers_in
from handlers.core import Answer, Context, Option
from handlers.i18n import _, ngettext
from handlers.labels import SPOKEN, category
from handlers.menu import show_menu
from handlers.steps import step
from models.audit import audit
from models.network import coordinators_of
from models.people import CATEGORIES

CAPS = (1, 2, 3, 5)


def start_offer(ctx: Context, intro: str | None = None, kind: str | None = None) -> None:
    """The limits everyone who helps states: tasks, languages, weekly cap, duo. Invited
    volunteers too: an invitation vouches for a person, it does not decide their limits.
    ``kind``: the kind of help their own words offered, ticked already."""
    ctx.clear()  # nothing from a question left behind
    chosen = list(ctx.person.categories or [])
    if kind in CATEGORIES and kind != "other" and kind not in chosen:
        chosen.append(kind)
    ctx.goto("offer.categories", chosen=chosen)
    if intro:
        ctx.say(intro)
    ask_categories(ctx)


def _multi_options(codes, chosen, label, prefix) -> list[Option]:
    opts = [Option(("✓ " if c in chosen else "") + label(c), payloads.pick(prefix, c)) for c in codes]
    return opts + [Option(_("Done"), payloads.pick(prefix, "done"))]


def ask_categories(ctx: Context) -> None:
    ctx.say(_("Which tasks would you like to do? Tap to choose (tap again to remove), then “Done”. You can also type "
              "the numbers, like 1 3 4."),
            _multi_options(CATEGORIES, ctx.data("chosen", []), category, "offercat"))


def _toggle_or_numbers(ctx: Context, answer: Answer, prefix: str, codes) -> tuple[list[str], bool]:
    """A tap toggles one choice; typed numbers choose several at once and finish the step."""
    chosen = list(ctx.data("chosen", []))
    picked = answer.arg(prefix)
    if picked == "done":
        return chosen, True
    if picked in codes:
        chosen = [c for c in chosen if c != picked] if picked in chosen else chosen + [picked]
        return chosen, False
    nums = [n for n in numbers_in(answer.text) if 1 <= n <= len(codes)]
    if nums and not answer.payload:
        return [codes[n - 1] for n in dict.fromkeys(nums)], True
    return chosen, False


@step("offer.categories")
def on_categories(ctx: Context, answer: Answer) -> None:
    chosen, done = _toggle_or_numbers(ctx, answer, "offercat", CATEGORIES)
    if done and chosen:
        ctx.person.categories = [c for c in CATEGORIES if c in chosen]
        ctx.goto("offer.languages", chosen=list(ctx.person.languages_spoken or [ctx.person.language]))
        ask_languages(ctx)
        return
    ctx.goto("offer.categories", chosen=chosen)
    if done:
        ctx.say(_("Please choose at least one kind of task."))
    ask_categories(ctx)


def own_language(ctx: Context) -> str:
    """The person's own language: always among the ones they speak, never unticked by a tap."""
    return ctx.person.language


def ask_languages(ctx: Context) -> None:
    own = own_language(ctx)
    ctx.say(_("Which languages do you speak? Tap to choose, then “Done”.") + "\n"
            + _("{language}, your own language, is always included.", language=SPOKEN.get(own, own)),
            _multi_options(list(SPOKEN), ctx.data("chosen", []), SPOKEN.get, "offerlang"))


@step("offer.languages")
def on_languages(ctx: Context, answer: Answer) -> None:
    codes, own = list(SPOKEN), own_language(ctx)
    chosen, done = _toggle_or_numbers(ctx, answer, "offerlang", codes)
    if not answer.payload and not numbers_in(answer.text):
        typed = set(fold(answer.text).replace(",", " ").split())
        names = [c for c, name in SPOKEN.items() if c in typed or fold(name) in typed]
        if names:
            chosen, done = names, True
    if own in codes and own not in chosen:
        chosen = [own, *chosen]  # a tap on the own language does not untick it
    if done and chosen:
        ctx.person.languages_spoken = [c for c in codes if c in chosen]
        ctx.goto("offer.cap")
        ctx.say(_("How many tasks a week at most? You can change this later."),
                [Option(str(n), payloads.cap(n)) for n in CAPS])
        return
    ctx.goto("offer.languages", chosen=chosen)
    if done:
        ctx.say(_("Please choose at least one language."))
    ask_languages(ctx)


@step("offer.cap")
def on_cap(ctx: Context, answer: Answer) -> None:
    value = answer.arg("cap")
    if value is None and not answer.payload:
        nums = numbers_in(answer.text)
        value = str(nums[0]) if nums and 1 <= nums[0] <= 20 else None
    if value is None or not value.isdecimal() or not 1 <= int(value) <= 20:
        ctx.say(_("How many tasks a week at most? You can change this later."),
                [Option(str(n), payloads.cap(n)) for n in CAPS])
        return
    ctx.person.max_tasks_per_week = int(value)
    ctx.goto("offer.duo")
    ctx.say(
        _("Would you rather visit people only together with someone else (a duo visit)? That is fine, just tell us."),
        [Option(_("Yes, only in a duo"), "yes"), Option(_("No, alone is fine"), "no")],
    )


@step("offer.duo")
def on_duo(ctx: Context, answer: Answer) -> None:
    if answer.payload not in ("yes", "no"):
        ctx.say(
            _("Please answer yes or no."),
            [Option(_("Yes, only in a duo"), "yes"), Option(_("No, alone is fine"), "no")],
        )
        return
    p = ctx.person
    p.duo_only = answer.is_("yes")
    already = p.is_approved_volunteer
    p.is_volunteer = True
    if not already:
        p.volunteer_status = "pending"
    audit(ctx.session, p.id, "volunteer.offer", "person", p.id)
    if already:
        show_menu(ctx, _("Thank you, your choices are saved."))
        return
    contact = p.neighbourhood.contact_name if p.neighbourhood and p.neighbourhood.contact_name else _("the coordinator")
    show_menu(ctx, _("Thank you, {name}! You will hear from {contact}, who would like to get to know you. Once you are "
                     "approved you will see requests from neighbours.", name=p.first_name, contact=contact))
    for c in coordinators_of(ctx.session, p.neighbourhood_id):
        if c.id != p.id:
            ctx.tell(c, lambda: (
                ngettext("New volunteer: {name} ({tasks}; at most {n} task a week). Approve?",
                         "New volunteer: {name} ({tasks}; at most {n} tasks a week). Approve?", p.max_tasks_per_week,
                         name=p.first_name, tasks=", ".join(category(x) for x in p.categories)),
                [Option(_("Approve"), payloads.volunteer("ok", p.id)),
                 Option(_("Decline"), payloads.volunteer("no", p.id))],
            ), about=p.id)
