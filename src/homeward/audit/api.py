from datetime import datetime
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from homeward.access.gates import access_audit_event_by_id
from homeward.access.roles import Cap
from homeward.api.auth import Staff
from homeward.api.pagination import Page
from homeward.api.schemas import ERRORS, SEQ
from homeward.audit.selectors import audit_events
from homeward.audit.services import audit_verify_start
from homeward.web.api import JobOut, job_out

router = Router(tags=["audit"])


class AuditEventOut(Schema):
    seq: int
    at: datetime
    actor_label: str
    action: str
    target_type: str
    target_id: str
    data: dict[str, Any]
    key_id: str
    prev_hash: str
    hash: str


class AuditFilter(Schema):
    action: str = ""
    actor: str = ""
    target_type: str = ""
    target_id: str = ""


@router.get(
    "/events",
    response={200: list[AuditEventOut], **ERRORS},
    auth=Staff(Cap.AUDIT_VIEW),
    operation_id="audit_events_list",
    summary="List audit events, newest first",
)
@paginate(Page)
def list_events(request: HttpRequest, filters: Query[AuditFilter]) -> Any:
    return audit_events(
        action_prefix=filters.action, actor=filters.actor, target_type=filters.target_type, target_id=filters.target_id
    )


@router.get(
    "/events/{seq}",
    response={200: AuditEventOut, **ERRORS},
    auth=Staff(Cap.AUDIT_VIEW),
    operation_id="audit_event_get",
    summary="One audit event",
)
def get_event(request: HttpRequest, seq: SEQ) -> Any:
    return access_audit_event_by_id(request.user, seq)


@router.post(
    "/verify",
    response={202: JobOut, **ERRORS},
    auth=Staff(Cap.AUDIT_VERIFY),
    operation_id="audit_verify_start",
    summary="Start a check of the whole audit chain as a background job",
)
def start_verify(request: HttpRequest) -> Any:
    return Status(202, job_out(audit_verify_start(actor=request.user)))
