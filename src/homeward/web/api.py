from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema
from ninja.pagination import paginate

from homeward.access.gates import access_job_by_id, user_roles
from homeward.access.roles import Cap
from homeward.api.auth import Staff
from homeward.api.pagination import Page
from homeward.api.schemas import ERRORS, ID
from homeward.core.jobs import job_effective_state, job_error_text, job_kind_label
from homeward.core.models import Job
from homeward.web.selectors import jobs_visible_to

router = Router()


class JobOut(Schema):
    id: int
    kind: str
    label: str
    state: str
    done: int
    total: int | None
    message: str
    error: str
    result: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_label(job: Job) -> str:
        return job_kind_label(job.kind)

    @staticmethod
    def resolve_state(job: Job) -> str:
        return job_effective_state(job)

    @staticmethod
    def resolve_error(job: Job) -> str:
        return job_error_text(job)


def job_out(job: Job) -> Job:
    return job


class MeOut(Schema):
    id: int
    username: str
    roles: list[str]


@router.get(
    "/me",
    response={200: MeOut, **ERRORS},
    auth=Staff(Cap.DASHBOARD_VIEW),
    operation_id="me_get",
    summary="Who the request acts as, and their roles",
    tags=["access"],
)
def me(request: HttpRequest) -> Any:
    user = request.user
    return {"id": user.pk, "username": user.get_username(), "roles": sorted(user_roles(user))}


@router.get(
    "/jobs",
    response={200: list[JobOut], **ERRORS},
    auth=Staff(Cap.JOBS_VIEW),
    operation_id="jobs_list",
    summary="Background jobs the caller may see, newest first",
    tags=["jobs"],
)
@paginate(Page)
def list_jobs(request: HttpRequest) -> Any:
    return jobs_visible_to(request.user)


@router.get(
    "/jobs/{job_id}",
    response={200: JobOut, **ERRORS},
    auth=Staff(Cap.JOBS_VIEW),
    operation_id="job_get",
    summary="One background job with its progress",
    tags=["jobs"],
)
def get_job(request: HttpRequest, job_id: ID) -> Any:
    return job_out(access_job_by_id(request.user, job_id))
