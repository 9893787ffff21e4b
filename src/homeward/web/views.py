from __future__ import annotations

from django.core.paginator import Paginator
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from homeward.access.gates import access_job_by_id, public, require_capability
from homeward.access.roles import Cap
from homeward.core.errors import NotFoundError
from homeward.core.jobs import job_effective_state, job_error_text, job_kind_label
from homeward.core.models import Job
from homeward.web.selectors import dashboard_figures, jobs_visible_to


@require_capability(Cap.DASHBOARD_VIEW)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    figures = dashboard_figures(request.user)
    recent = jobs_visible_to(request.user)[:5]
    return render(request, "web/dashboard.html", {"figures": figures, "recent_jobs": [_job_view(j) for j in recent]})


def _job_view(job: Job) -> dict[str, object]:
    state = job_effective_state(job)
    percent = None
    if job.total:
        percent = min(100, int(job.done * 100 / job.total))
    return {
        "job": job,
        "label": job_kind_label(job.kind),
        "state": state,
        "state_label": Job.State(state).label,
        "finished": state in (Job.State.SUCCEEDED, Job.State.FAILED),
        "percent": percent,
        "error": job_error_text(job),
    }


@require_capability(Cap.JOBS_VIEW)
@require_GET
def job_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(jobs_visible_to(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "web/job_list.html", {"page": page, "jobs": [_job_view(j) for j in page]})


def _job_or_404(request: HttpRequest, job_id: int) -> Job:
    try:
        return access_job_by_id(request.user, job_id)
    except NotFoundError:
        raise Http404 from None


@require_capability(Cap.JOBS_VIEW)
@require_GET
def job_detail(request: HttpRequest, job_id: int) -> HttpResponse:
    return render(request, "web/job_detail.html", {"j": _job_view(_job_or_404(request, job_id))})


@require_capability(Cap.JOBS_VIEW)
@require_GET
def job_progress(request: HttpRequest, job_id: int) -> HttpResponse:
    """The progress fragment that the job page polls with htmx until the job ends."""
    return render(request, "web/_job_progress.html", {"j": _job_view(_job_or_404(request, job_id))})


@public
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
