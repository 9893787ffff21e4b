"""Reads for the staff dashboard and the job pages."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import QuerySet

from homeward.access.gates import user_roles
from homeward.access.roles import Role
from homeward.audit.models import AuditEvent
from homeward.core.models import Job


def jobs_visible_to(actor: Any) -> QuerySet[Job]:
    jobs = Job.objects.select_related("created_by")
    if Role.ADMIN not in user_roles(actor):
        jobs = jobs.filter(created_by=actor)
    return jobs.order_by("-created_at", "-id")


@dataclass
class DashboardFigures:
    staff_active: int
    audit_events: int
    jobs_running: int
    last_chain_check: Job | None


def dashboard_figures(actor: Any) -> DashboardFigures:
    return DashboardFigures(
        staff_active=get_user_model().objects.filter(is_active=True).count(),
        audit_events=AuditEvent.objects.count(),
        jobs_running=Job.objects.filter(state__in=[Job.State.QUEUED, Job.State.RUNNING]).count(),
        last_chain_check=Job.objects.filter(kind="audit.verify", state=Job.State.SUCCEEDED)
        .order_by("-finished_at")
        .first(),
    )
