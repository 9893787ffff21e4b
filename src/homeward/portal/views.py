"""The public self-registration pages, one thing per page, and the registrant's way back.

The answers given so far are kept encrypted in the session (which ends after 15 idle minutes), never in the
registry, until the check-your-answers page sends them. Nothing here works without the session's draft,
and no page shows anything of the registry: a registrant sees only their own answers and intentions.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import zlib
from collections.abc import Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.template import engines
from django.template.backends.utils import csrf_input
from django.urls import Resolver404, resolve, reverse
from django.utils import timezone, translation
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.utils.translation import pgettext
from django.views.decorators.http import require_http_methods, require_POST

from homeward.access.gates import public, require_capability
from homeward.access.roles import Cap
from homeward.core.crypto import decrypt_value, encrypt_value
from homeward.core.errors import HomewardError, NotFoundError, ValidationError
from homeward.core.middleware import client_ip
from homeward.portal import selectors, services
from homeward.portal.forms import (
    RELATION_CHOICES,
    CampaignForm,
    ConsentForm,
    ContactForm,
    IntentionForm,
    MemberForm,
    OriginForm,
    PersonForm,
    SignInForm,
    problem_text,
)
from homeward.portal.services import normal_reference

DRAFT = "portal_draft"
DRAFT_COOKIE = "homeward_portal"
DRAFT_HOURS = 2
MAX_COOKIE = 3800  # bytes: browsers keep cookies of up to 4,096
MINE = "portal_submission"
STEPS = ("consent", "you", "origin", "family", "contact", "intention", "check")


def _posted(request: HttpRequest) -> Any:
    """The form's data when the page was sent (even with nothing filled in), else None (a fresh form)."""
    return request.POST if request.method == "POST" else None


def _draft(request: HttpRequest) -> dict[str, Any]:
    """The answers given so far: in an encrypted cookie of this browser (in the session when too large for one),
    never in the registry before they are sent; gone after DRAFT_HOURS."""
    if hasattr(request, "portal_draft"):
        return dict(request.portal_draft)
    token = request.COOKIES.get(DRAFT_COOKIE) or request.session.get(DRAFT)
    draft: dict[str, Any] = {}
    if token:
        try:
            draft = dict(json.loads(zlib.decompress(base64.b64decode(decrypt_value(token, context="portal.draft")))))
        except (HomewardError, ValueError, zlib.error):
            draft = {}
        if float(draft.get("until", 0)) < time.time():
            draft = {}
    request.portal_draft = draft  # type: ignore[attr-defined]
    return dict(draft)


def _keep(request: HttpRequest, draft: dict[str, Any]) -> None:
    """Keep the draft: ``drafting`` writes it to the response."""
    request.portal_draft = {**draft, "until": time.time() + DRAFT_HOURS * 3600} if draft else {}  # type: ignore[attr-defined]
    request.portal_draft_changed = True  # type: ignore[attr-defined]


def _boosted(request: HttpRequest) -> bool:
    return request.headers.get("HX-Request") == "true" and request.headers.get("HX-Boosted") == "true"


def followed(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """A page sent through htmx answers with the page it leads to, its address pushed into the browser's
    history: one request per page instead of a redirect and a second request. Without JavaScript the browser
    follows the redirect itself, as always (post, redirect, get)."""
    if request.method != "POST" or response.status_code != 302 or not _boosted(request):
        return response
    location = response["Location"]
    for _hop in range(3):  # a page may send on once more (the intention pages to the next adult)
        address = urlsplit(location)
        if not address.path.startswith("/portal/"):
            return response
        try:
            match = resolve(address.path)
        except Resolver404:
            return response
        # The request becomes the GET of the page it leads to (its address too: the language form sends back to it).
        request.method = "GET"
        request.path = request.path_info = address.path
        request.META.update(PATH_INFO=address.path, QUERY_STRING=address.query, REQUEST_METHOD="GET")
        request.resolver_match = match
        request.GET = QueryDict(address.query)
        request.POST = QueryDict()
        page: HttpResponse = match.func(request, *match.args, **match.kwargs)
        for name, morsel in response.cookies.items():
            page.cookies.setdefault(name, morsel)
        if page.status_code != 302:
            page["HX-Push-Url"] = location
            return page
        response, location = page, page["Location"]
    return response


def drafting(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Write the draft a page changed into its cookie (or the session, when larger than a cookie may be). The
    pages show the registrant's answers: no browser or proxy may keep a copy."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = followed(request, view(request, *args, **kwargs))
        add_never_cache_headers(response)
        if getattr(request, "portal_draft_changed", False):
            draft = request.portal_draft  # type: ignore[attr-defined]
            token = ""
            if draft:
                packed = base64.b64encode(zlib.compress(json.dumps(draft, ensure_ascii=False).encode(), 6)).decode()
                token = encrypt_value(packed, context="portal.draft")
            if token and len(token) <= MAX_COOKIE:
                response.set_cookie(DRAFT_COOKIE, token, path="/portal/", secure=settings.SESSION_COOKIE_SECURE,
                                    httponly=True, samesite="Lax")  # fmt: skip
                if DRAFT in request.session:
                    del request.session[DRAFT]
            else:
                response.delete_cookie(DRAFT_COOKIE, path="/portal/", samesite="Lax")
                if token:
                    request.session[DRAFT] = token
                elif DRAFT in request.session:
                    del request.session[DRAFT]
        return response

    return wrapped


def _step_url(name: str) -> str:
    return reverse(f"portal_{name}")


def _needs(draft: dict[str, Any], *keys: str) -> bool:
    return bool(draft.get("id")) and all(k in draft for k in keys)


def _show(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """A public page, rendered by the portal's template engine (Jinja2, see ``portal/jinja.py``)."""
    # One CSRF token per page (each form of the page carries the same): masking one costs 32 random draws.
    context = {**(context or {}), "csrf": csrf_input(request)}
    page = engines["portal"].get_template(template).render(context, request)
    return HttpResponse(page, status=status)


def _page(request: HttpRequest, template: str, context: dict[str, Any], *, step: str = "") -> HttpResponse:
    if step:
        context["step_number"] = STEPS.index(step) + 1
        context["step_count"] = len(STEPS)
    return _show(request, template, context)


def _adults(draft: dict[str, Any]) -> list[int]:
    today = timezone.localdate()
    return [n for n, member in enumerate(services.members_of(draft)) if services._adult(member, today)]


def _key(member: dict[str, Any], number: int) -> str:
    """The member's own key in the draft: a removal names it, not a position that may have moved."""
    return str(member.get("key") or number)


def _name(member: dict[str, Any]) -> str:
    return " ".join(p for p in (member.get("given_name"), member.get("patronymic"), member.get("surname")) if p)


@public
@require_http_methods(["GET", "POST"])
@drafting
def start(request: HttpRequest) -> HttpResponse:
    """Who runs the registry, why, what is stored and who sees it (the published information sheet), and under
    it the agreements, one per purpose: read, agree, start."""
    code = str(request.GET.get("c") or request.POST.get("c") or "")[:64]
    language = translation.get_language() or settings.LANGUAGE_CODE
    sheet = selectors.current_sheet(language)
    form = ConsentForm(_posted(request))
    if request.method == "POST":
        # The consent is given under the version the page showed, even if a newer one was published since.
        sheet = selectors.shown_sheet(str(request.POST.get("sheet") or "")[:64], language) or sheet
        if sheet is None:
            return redirect("portal_start")
        if form.is_valid():
            draft = {"id": secrets.token_urlsafe(18), "sheet": sheet.version, "sheet_language": sheet.language,
                     "campaign": code, "consents": form.purposes()}  # fmt: skip
            _keep(request, draft)
            return redirect("portal_you")
    paragraphs = [p for p in sheet.body.split("\n\n") if p.strip()] if sheet else []
    context = {"sheet": sheet, "paragraphs": paragraphs, "campaign": code, "form": form}
    return _page(request, "portal/start.html", context, step="consent" if sheet else "")


@public
@require_http_methods(["GET", "POST"])
@drafting
def consent(request: HttpRequest) -> HttpResponse:
    draft = _draft(request)
    if not _needs(draft):
        return redirect("portal_start")
    chosen = draft.get("consents") or []
    form = ConsentForm(_posted(request), initial=dict.fromkeys(chosen, True))
    if request.method == "POST" and form.is_valid():
        draft["consents"] = form.purposes()
        _keep(request, draft)
        return redirect(_after(draft, "consent"))
    return _page(request, "portal/consent.html", {"form": form, "partner": settings.PORTAL_PARTNER}, step="consent")


@public
@require_http_methods(["GET", "POST"])
@drafting
def you(request: HttpRequest) -> HttpResponse:
    draft = _draft(request)
    if not _needs(draft, "consents"):
        return redirect("portal_start")
    form = PersonForm(_posted(request), initial=draft.get("you") or {})
    if request.method == "POST":
        if form.is_bot():
            _keep(request, {})  # a bot filled the hidden field: turned away without a word
            return redirect("portal_start")
        if form.is_valid():
            draft["you"] = {k: form.cleaned_data.get(k, "") for k in services.PERSON_FIELDS}
            _keep(request, draft)
            return redirect(_after(draft, "you"))
    return _page(request, "portal/you.html", {"form": form}, step="you")


def _after(draft: dict[str, Any], step: str) -> str:
    """The next page, or back to the check page when the answers were complete and one was changed."""
    if draft.get("checking"):
        return _step_url("check")
    if step == "contact":
        return reverse("portal_intention_of", args=[0])
    following = {"consent": "you", "you": "origin", "origin": "family", "family": "contact"}
    return _step_url(following[step])


@public
@require_http_methods(["GET", "POST"])
@drafting
def origin(request: HttpRequest) -> HttpResponse:
    from homeward.gazetteer.selectors import settlement_hit, settlement_search

    draft = _draft(request)
    if not _needs(draft, "you"):
        return redirect("portal_start")
    given = draft.get("origin") or {}
    # Posted, never in the address: the home settlement must not end up in browser history or server logs.
    query = str(request.POST.get("q") or "")[:100].strip()
    sent = request.method == "POST" and "search" not in request.POST
    chosen = str(request.POST.get("settlement") or "")[:120] if sent else ""

    def listed(search: bool) -> list[tuple[str, str]]:
        hit = None if search or not chosen else settlement_hit(chosen, query)
        found = [hit] if hit else settlement_search(query, limit=12) if query and search else []
        choices = selectors.settlement_choices(found)
        if given.get("settlement") and given["settlement"] not in dict(choices):
            choices.insert(0, (given["settlement"], given.get("title", given["settlement"])))
        return choices

    # A settlement chosen from the list is checked by its id alone; the list is searched again only to show it.
    choices = listed(search=not chosen)
    form = OriginForm(_posted(request), initial=given, hits=choices)
    if sent and chosen and not form.is_valid():
        choices = listed(search=True)
        form = OriginForm(_posted(request), initial=given, hits=choices)
    if sent and form.is_valid():
        data = form.cleaned_data
        chosen = str(data.get("settlement") or "")
        draft["origin"] = {
            "settlement": chosen, "title": dict(choices).get(chosen, ""),
            "text": "" if data.get("settlement") else data.get("text", ""), "left": data.get("left", ""),
            "event": data.get("event", ""), "how": data.get("how", ""),
            "self_displaced": bool(data.get("self_displaced")),
        }  # fmt: skip
        _keep(request, draft)
        return redirect(_after(draft, "origin"))
    if request.method == "POST" and "search" in request.POST:
        form = OriginForm(initial={**given, **{k: request.POST.get(k, "") for k in ("text", "left", "event", "how")}},
                          hits=choices)  # fmt: skip
    return _page(request, "portal/origin.html", {"form": form, "query": query, "searched": bool(query)}, step="origin")


@public
@require_http_methods(["GET", "POST"])
@drafting
def family(request: HttpRequest) -> HttpResponse:
    draft = _draft(request)
    if not _needs(draft, "origin"):
        return redirect("portal_start")
    members = list(draft.get("family") or [])
    if request.method == "POST":
        if "remove" in request.POST:
            keys = [_key(m, n) for n, m in enumerate(members)]
            gone = str(request.POST["remove"])
            if gone in keys:
                index = keys.index(gone)
                del members[index]
                draft["family"] = members
                # The answers of the others stay theirs: member numbers after the removed one move down by one.
                number = index + 1
                draft["intentions"] = {
                    str(int(k) - (int(k) > number)): v
                    for k, v in (draft.get("intentions") or {}).items()
                    if int(k) != number
                }
                _keep(request, draft)
            return redirect("portal_family")
        draft["family"] = members
        _keep(request, draft)
        return redirect(_after(draft, "family"))
    labels = dict(RELATION_CHOICES)
    shown = [{"key": _key(m, n), "name": _name(m), "relation": labels.get(m.get("relation"), ""),
              "born": m.get("birth_date")} for n, m in enumerate(members)]  # fmt: skip
    # The form to add a member is on the page itself (folded once someone is listed): no extra page to load.
    adding = MemberForm(initial={"surname": (draft.get("you") or {}).get("surname", "")})
    context = {"members": shown, "full": len(members) >= services.MAX_FAMILY, "form": adding}
    return _page(request, "portal/family.html", context, step="family")


@public
@require_http_methods(["GET", "POST"])
@drafting
def family_add(request: HttpRequest) -> HttpResponse:
    draft = _draft(request)
    if not _needs(draft, "origin"):
        return redirect("portal_start")
    members = list(draft.get("family") or [])
    form = MemberForm(_posted(request), initial={"surname": (draft.get("you") or {}).get("surname", "")})
    if request.method == "POST" and form.is_valid():
        if len(members) >= services.MAX_FAMILY:
            form.add_error(None, _("A registration holds at most %(n)s family members.") % {"n": services.MAX_FAMILY})
        else:
            member = {k: form.cleaned_data.get(k, "") for k in (*services.PERSON_FIELDS, "relation")}
            member["displaced"] = bool(form.cleaned_data.get("displaced"))
            member["deceased"] = bool(form.cleaned_data.get("deceased") or form.cleaned_data.get("death_date"))
            member["death_date"] = form.cleaned_data.get("death_date", "") if member["deceased"] else ""
            member["key"] = secrets.token_hex(4)
            trial = {**draft, "family": [*members, member], "intentions": {}}
            problems = [p for p in services.check_payload(trial) if p[0] == f"family {len(members) + 1}"]
            if problems:
                form.add_problems(problems)
            else:
                draft["family"] = [*members, member]
                _keep(request, draft)
                return redirect("portal_family")
    return _page(request, "portal/member.html", {"form": form}, step="family")


@public
@require_http_methods(["GET", "POST"])
@drafting
def contact(request: HttpRequest) -> HttpResponse:
    draft = _draft(request)
    if not _needs(draft, "origin", "family"):
        return redirect("portal_start")
    form = ContactForm(_posted(request), initial=draft.get("contact") or {})
    if request.method == "POST" and form.is_valid():
        draft["contact"] = {k: form.cleaned_data.get(k, "") for k in ("country", "city", "phone", "email")}
        _keep(request, draft)
        return redirect(_after(draft, "contact"))
    return _page(request, "portal/contact.html", {"form": form}, step="contact")


@public
@require_http_methods(["GET", "POST"])
@drafting
def intention(request: HttpRequest, member: int = -1) -> HttpResponse:
    draft = _draft(request)
    if not _needs(draft, "contact"):
        return redirect("portal_start")
    adults = _adults(draft)
    given = draft.setdefault("intentions", {})

    def onwards() -> HttpResponse:
        _keep(request, draft)
        waiting = [n for n in adults if str(n) not in given]
        if waiting and not draft.get("checking"):
            return redirect("portal_intention_of", member=waiting[0])
        return redirect("portal_check")

    if member < 0 or member not in adults:
        return onwards()
    person = services.members_of(draft)[member]
    form = IntentionForm(_posted(request), initial=given.get(str(member)) or {},
                         origin=str((draft.get("origin") or {}).get("settlement") or ""))  # fmt: skip
    if request.method == "POST" and "skip" in request.POST and member != 0:
        given[str(member)] = {"decision": ""}
        _keep(request, draft)
        return onwards()
    if request.method == "POST" and form.is_valid():
        given[str(member)] = form.answers()
        _keep(request, draft)
        return onwards()
    return _page(request, "portal/intention.html",
                 {"form": form, "member": member, "name": _name(person), "yourself": member == 0},
                 step="intention")  # fmt: skip


@public
@require_http_methods(["GET", "POST"])
@drafting
def check(request: HttpRequest) -> HttpResponse:
    draft = _draft(request)
    missing = _first_missing(draft)
    if missing:
        return redirect(missing)
    draft["checking"] = True
    _keep(request, draft)
    if request.method == "POST":
        sender = services.sender_digest(client_ip(request))
        if services.sender_over_limit(sender):
            busy = _show(request, "portal/busy.html", status=429)
            busy["Retry-After"] = "600"
            return busy
        payload = {k: draft.get(k) for k in ("sheet", "sheet_language", "consents", "you", "origin", "family",
                                               "contact", "intentions")}  # fmt: skip
        try:
            receipt = services.submission_receive(
                payload=payload, draft=draft["id"], language=translation.get_language() or settings.LANGUAGE_CODE,
                sender=sender, campaign_code=str(draft.get("campaign") or ""),
            )  # fmt: skip
        except ValidationError as exc:
            if any(field == "draft" for _where, field, _reason in exc.problems):
                messages.error(request, _("This registration was sent already. To change its answers, sign in "
                                          "with its reference number and passphrase."))  # fmt: skip
                _keep(request, {})
                return redirect("portal_sign_in")
            for _where, _field, reason in exc.problems[:5]:
                messages.error(request, problem_text(reason))
            return redirect("portal_check")
        # The reference and passphrase wait, encrypted, in the same cookie, for the next page to show them once.
        _keep(request, {"receipt": {"reference": receipt.reference, "passphrase": receipt.passphrase}})
        return redirect("portal_done")
    return _page(request, "portal/check.html", _answers(draft), step="check")


def _first_missing(draft: dict[str, Any]) -> str:
    """The address of the first step not answered yet, or "" when every step is."""
    if not draft.get("id"):
        return _step_url("start")
    for step, key in (("consent", "consents"), ("you", "you"), ("origin", "origin"), ("family", "family"),
                      ("contact", "contact")):  # fmt: skip
        if key not in draft:
            return _step_url(step)
    given = draft.get("intentions") or {}
    waiting = [n for n in _adults(draft) if str(n) not in given]
    return reverse("portal_intention_of", args=[waiting[0]]) if waiting else ""


def _answers(draft: dict[str, Any]) -> dict[str, Any]:
    labels = dict(RELATION_CHOICES)
    members = services.members_of(draft)
    purposes = dict(selectors.consent_labels())
    intentions = []
    for key, given in sorted((draft.get("intentions") or {}).items(), key=lambda kv: int(kv[0])):
        number = int(key)
        if number < len(members):
            intentions.append({"member": number, "name": _name(members[number]), **selectors.intention_shown(given)})
    return {
        "consents": [purposes.get(p, p) for p in draft.get("consents") or []],
        "you": {**dict.fromkeys(services.PERSON_FIELDS, ""), **(draft.get("you") or {})},
        "origin": {"title": "", "text": "", "left": "", "how": "", **(draft.get("origin") or {})},
        "event": selectors.event_label((draft.get("origin") or {}).get("event", "")),
        "family": [
            {**m, "relation_label": labels.get(m.get("relation"), ""), "name": _name(m)}
            for m in draft.get("family") or []
        ],
        "contact": {**dict.fromkeys(("country", "city", "phone", "email"), ""), **(draft.get("contact") or {})},
        "intentions": intentions,
        "sex_labels": {"F": _("female"), "M": _("male"), "X": pgettext("sex", "other"), "": "—"},
    }


@public
@drafting
def done(request: HttpRequest) -> HttpResponse:
    receipt = _draft(request).get("receipt")
    if not receipt:
        return redirect("portal_start")
    _keep(request, {})  # shown once
    return _show(request, "portal/done.html", {"receipt": receipt})


@public
@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    form = SignInForm(_posted(request), initial={"reference": normal_reference(request.GET.get("ref", ""))})
    if request.method == "POST" and form.is_valid():
        try:
            submission = services.submission_sign_in(
                reference=form.cleaned_data["reference"], passphrase=form.cleaned_data["passphrase"]
            )
        except NotFoundError:
            form.add_error(None, _("This reference and passphrase do not match. Check both and try again; after "
                                   "five wrong tries, wait a quarter of an hour."))  # fmt: skip
        else:
            request.session.cycle_key()
            request.session[MINE] = submission.pk
            return followed(request, redirect("portal_mine"))
    response = _show(request, "portal/sign_in.html", {"form": form})
    add_never_cache_headers(response)
    return response


def _mine(request: HttpRequest) -> Any:
    pk = request.session.get(MINE)
    return selectors.own_submission(pk) if pk else None


def _own(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A page of the registrant's own submission: to the sign-in page without one in the session."""

    @wraps(view)
    def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        submission = _mine(request)
        response = redirect("portal_sign_in") if submission is None else view(request, submission, *args, **kwargs)
        response = followed(request, response)
        add_never_cache_headers(response)  # the registrant's own answers: no browser or proxy keeps a copy
        return response

    return guarded


@public
@_own
def mine(request: HttpRequest, submission: Any) -> HttpResponse:
    payload = services.payload_of(submission)
    context = _answers(payload)
    context.update(submission=submission, history=selectors.own_history(submission, payload),
                   consents_held=selectors.own_consents(submission))  # fmt: skip
    return _show(request, "portal/mine.html", context)


@public
@require_http_methods(["GET", "POST"])
@_own
def mine_intention(request: HttpRequest, submission: Any, member: int) -> HttpResponse:
    payload = services.payload_of(submission)
    members = services.members_of(payload)
    if not 0 <= member < len(members) or not services._adult(members[member], timezone.localdate()):
        return redirect("portal_mine")
    form = IntentionForm(_posted(request), origin=str((payload.get("origin") or {}).get("settlement") or ""))
    if request.method == "POST" and form.is_valid():
        try:
            services.portal_intention_change(submission_id=submission.pk, member=member, given=form.answers())
        except (ValidationError, NotFoundError) as exc:
            # Only the reasons the registrant's own answers give are named; anything else is the one plain message.
            problems = getattr(exc, "problems", None) or [("", "", services.NOT_TAKEN)]
            form.add_error(None, problem_text(problems[0][2]))
        else:
            messages.success(request, _("Your answer was saved as a new version."))
            return redirect("portal_mine")
    return _show(request, "portal/intention.html", {"form": form, "member": member, "name": _name(members[member]),
                                                     "yourself": member == 0, "changing": True})  # fmt: skip


@public
@require_POST
@_own
def mine_withdraw(request: HttpRequest, submission: Any, member: int) -> HttpResponse:
    try:
        services.portal_intention_withdraw(submission_id=submission.pk, member=member)
    except ValidationError as exc:
        messages.error(
            request, problem_text(exc.problems[0][2]) if exc.problems else _("There is no answer to withdraw.")
        )
    except NotFoundError:
        messages.error(request, _("There is no answer to withdraw."))
    else:
        messages.success(request, _("The answer was withdrawn."))
    return redirect("portal_mine")


@public
@require_POST
@_own
def mine_consent(request: HttpRequest, submission: Any, purpose: str) -> HttpResponse:
    try:
        services.portal_consent_withdraw(submission_id=submission.pk, purpose=purpose)
    except (ValidationError, NotFoundError):
        messages.error(request, _("Your registration is still being recorded: try again in a few minutes."))
    else:
        messages.success(request, _("Your agreement was withdrawn."))
    return redirect("portal_mine")


@public
@require_POST
@drafting
def sign_out(request: HttpRequest) -> HttpResponse:
    request.session.pop(MINE, None)
    _keep(request, {})
    return redirect("portal_start")


# --- staff -----------------------------------------------------------------------------------------------


@require_capability(Cap.REGISTRY_VIEW)
@require_http_methods(["GET", "POST"])
def staff(request: HttpRequest) -> HttpResponse:
    """Submissions as they arrive, what each campaign brought, and which sheet version answers were given
    under."""
    from homeward.access.gates import user_can

    may_configure = user_can(request.user, Cap.REGISTRY_CONFIGURE)
    form = CampaignForm(_posted(request)) if may_configure else None
    if request.method == "POST":
        if "record" in request.POST and user_can(request.user, Cap.REGISTRY_EDIT):
            job = services.submissions_record_start(actor=request.user)
            return redirect("job_detail", job_id=job.pk)
        if form is not None and form.is_valid():
            try:
                services.campaign_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                form.add_error("code", str(exc))
            else:
                messages.success(request, _("The campaign was created."))
                return redirect("portal_staff")
    return render(request, "portal/staff.html", {
        "campaigns": selectors.campaign_counts(), "counts": selectors.submission_counts(),
        "recent": selectors.recent_submissions(), "form": form, "sheets": selectors.intentions_by_sheet(),
        "link": request.build_absolute_uri(reverse("portal_start")),
        "may_record": user_can(request.user, Cap.REGISTRY_EDIT),
    })  # fmt: skip
