from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from homeward.access.forms import StaffCreateForm, StaffRolesForm, TokenCreateForm
from homeward.access.gates import access_staff_by_id, require_capability, user_can, user_roles
from homeward.access.roles import ROLE_LABELS, Cap, Role
from homeward.access.selectors import staff_list, tokens_of
from homeward.access.services import (
    api_token_create,
    api_token_revoke,
    staff_create,
    staff_set_active,
    staff_set_roles,
)
from homeward.core.errors import NotFoundError, ValidationError


def _staff_rows() -> list[dict[str, object]]:
    rows = []
    for user in staff_list():
        names = sorted(g.name for g in user.groups.all() if g.name in {r.value for r in Role})
        rows.append({"user": user, "roles": [ROLE_LABELS[Role(n)] for n in names]})
    return rows


@require_capability(Cap.STAFF_VIEW)
@require_http_methods(["GET"])
def staff_index(request: HttpRequest) -> HttpResponse:
    return render(request, "access/staff_list.html", {"rows": _staff_rows()})


@require_capability(Cap.STAFF_MANAGE)
@require_http_methods(["GET", "POST"])
def staff_new(request: HttpRequest) -> HttpResponse:
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = staff_create(
                actor=request.user,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                roles=form.cleaned_data["roles"],
            )
        except ValidationError as exc:
            form.add_error(None, str(exc))
        else:
            return render(request, "access/staff_created.html", {"new_user": user, "password": user.generated_password})
    return render(request, "access/staff_new.html", {"form": form})


@require_capability(Cap.STAFF_VIEW)
@require_http_methods(["GET", "POST"])
def staff_detail(request: HttpRequest, user_id: int) -> HttpResponse:
    try:
        person = access_staff_by_id(request.user, user_id)
    except NotFoundError:
        raise Http404 from None
    current = sorted(user_roles(person))
    form = StaffRolesForm(request.POST or None, initial={"roles": current})
    if request.method == "POST":
        if not user_can(request.user, Cap.STAFF_MANAGE):
            raise Http404
        action = request.POST.get("action")
        try:
            if action == "roles" and form.is_valid():
                staff_set_roles(actor=request.user, user_id=person.pk, roles=form.cleaned_data["roles"])
                messages.success(request, _("Roles saved."))
                return redirect("staff_detail", user_id=person.pk)
            if action in ("activate", "deactivate"):
                staff_set_active(actor=request.user, user_id=person.pk, active=action == "activate")
                messages.success(request, _("Account updated."))
                return redirect("staff_detail", user_id=person.pk)
        except ValidationError as exc:
            form.add_error(None, str(exc))
    return render(
        request,
        "access/staff_detail.html",
        {"person": person, "roles": [ROLE_LABELS[Role(n)] for n in current], "form": form},
    )


@require_capability(Cap.TOKENS_OWN)
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST or None)
    secret = None
    if request.method == "POST" and form.is_valid():
        _token, secret = api_token_create(
            actor=request.user, user_id=int(request.user.pk or 0), name=form.cleaned_data["name"]
        )
        form = TokenCreateForm()
    return render(request, "access/tokens.html", {"form": form, "tokens": tokens_of(request.user), "secret": secret})


@require_capability(Cap.TOKENS_OWN)
@require_POST
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    try:
        api_token_revoke(actor=request.user, token_id=token_id)
    except NotFoundError:
        raise Http404 from None
    messages.success(request, _("Token revoked."))
    return redirect("tokens")
