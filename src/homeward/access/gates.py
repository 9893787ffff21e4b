"""The gates: who has which role, decorators that guard pages, and the ``access_*`` fetches.

``access_<entity>_by_id(actor, id)`` is the only way to fetch one record that
carries personal data: it raises the same NotFoundError whether the record is
missing or forbidden, and records the read in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from allauth.account.internal.flows.login import get_authentication_records
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse

from homeward.access.roles import MATRIX, Cap, Role
from homeward.audit.models import AuditEvent
from homeward.audit.services import Actor, audit_record
from homeward.core.errors import NotFoundError
from homeward.core.models import Job

ROLE_VALUES = frozenset(r.value for r in Role)
View = TypeVar("View", bound=Callable[..., HttpResponse])
T = TypeVar("T")


def user_roles(user: Any) -> frozenset[str]:
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return frozenset()
    cached = getattr(user, "_homeward_roles", None)
    if cached is None:
        cached = frozenset(user.groups.filter(name__in=ROLE_VALUES).values_list("name", flat=True))
        user._homeward_roles = cached
    return frozenset(cached)


def user_can(user: Any, cap: Cap) -> bool:
    return bool(user_roles(user) & {r.value for r in MATRIX[cap]})


def require_capability(cap: Cap) -> Callable[[View], View]:
    """Guard a page: anonymous people go to sign-in, staff without the capability get 403."""

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                if request.headers.get("HX-Request") == "true":
                    # A fragment asked for by htmx: send the whole page to the sign-in page, not the fragment.
                    page = urlsplit(request.headers.get("HX-Current-URL", "/")).path or "/"
                    login = redirect_to_login(page)
                    response = HttpResponse(status=204)
                    response["HX-Redirect"] = login["Location"]
                    return response
                return redirect_to_login(request.get_full_path())
            if not user_can(request.user, cap):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        guarded.homeward_capability = cap  # type: ignore[attr-defined]
        return guarded  # type: ignore[return-value]

    return decorate


def public(view: View) -> View:
    """Mark a page as open to anyone (sign-in, health check, language switch)."""
    view.homeward_public = True  # type: ignore[attr-defined]
    return view


def session_passed_mfa(request: HttpRequest, totp: Any) -> bool:
    """Whether this session proved the second factor: a code was entered at sign-in, or the authenticator
    was set up (which takes a code) after this session's sign-in."""
    records = get_authentication_records(request, request.user)
    if any(r.get("method") == "mfa" for r in records):
        return True
    if (totp.data or {}).get("homeward_enrolled_by"):
        return False  # enrolled by an administrator: only a code entered at sign-in counts
    signed_in = [float(r.get("at", 0)) for r in records if r.get("method") == "password"]
    return bool(signed_in) and totp.created_at.timestamp() >= max(signed_in)


def or_404(fetch: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A page's fetch through an access gate: not found (missing or not allowed) becomes a 404."""
    try:
        return fetch(*args, **kwargs)
    except NotFoundError:
        raise Http404 from None


def actor_can(actor: Any, cap: Cap) -> bool:
    """Whether ``actor`` holds ``cap``. A command run on the server by its operator (who holds the keys
    anyway) is audited but not limited; a system actor acting for a user is not trusted with more."""
    if isinstance(actor, Actor):
        return actor.user_id is None
    return user_can(actor, cap)


def audited_read(actor: Any, obj: Any, action: str, data: dict[str, Any] | None = None) -> None:
    """Record a read of personal data (in its own transaction: a read has no other write to join)."""
    with transaction.atomic():
        audit_record(actor=actor, action=action, target=obj, data=data)


def access_job_by_id(actor: Any, job_id: int) -> Job:
    """A job is visible to whoever started it, and to administrators."""
    job = Job.objects.filter(pk=job_id).select_related("created_by").first()
    if job is None or not (
        user_can(actor, Cap.JOBS_VIEW) and (job.created_by_id == actor.pk or Role.ADMIN in user_roles(actor))
    ):
        raise NotFoundError("job not found")
    return job


def access_audit_event_by_id(actor: Any, seq: int) -> AuditEvent:
    event = AuditEvent.objects.filter(seq=seq).first()
    if event is None or not user_can(actor, Cap.AUDIT_VIEW):
        raise NotFoundError("audit event not found")
    return event


def access_staff_by_id(actor: Any, user_id: int) -> Any:
    """A staff account is personal data: reading one is recorded."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not (user_can(actor, Cap.STAFF_VIEW) or user.pk == actor.pk):
        raise NotFoundError("staff account not found")
    audited_read(actor, user, "access.staff.viewed")
    return user
