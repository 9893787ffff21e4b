from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from homeward.access.gates import access_audit_event_by_id, require_capability
from homeward.access.roles import Cap
from homeward.audit.selectors import audit_events
from homeward.audit.services import audit_verify_start
from homeward.core.errors import NotFoundError


@require_capability(Cap.AUDIT_VIEW)
@require_GET
def event_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "action_prefix": request.GET.get("action", "").strip(),
        "actor": request.GET.get("actor", "").strip(),
        "target_type": request.GET.get("target_type", "").strip(),
        "target_id": request.GET.get("target_id", "").strip(),
    }
    page = Paginator(audit_events(**filters), 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "audit/event_list.html", {"page": page, "filters": filters, "query": query.urlencode()})


@require_capability(Cap.AUDIT_VIEW)
@require_GET
def event_detail(request: HttpRequest, seq: int) -> HttpResponse:
    try:
        event = access_audit_event_by_id(request.user, seq)
    except NotFoundError:
        raise Http404 from None
    return render(request, "audit/event_detail.html", {"event": event})


@require_capability(Cap.AUDIT_VERIFY)
@require_POST
def verify_start(request: HttpRequest) -> HttpResponse:
    job = audit_verify_start(actor=request.user)
    messages.info(request, _("The audit chain check has started."))
    return redirect("job_detail", job_id=job.pk)
