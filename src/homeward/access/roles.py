"""Roles and the permission matrix: which role may use which capability.

Every page and API operation names exactly one capability (or is public); a
test walks them all for every role, so an endpoint without a rule fails it.
"""

from __future__ import annotations

from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Role(StrEnum):
    ADMIN = "admin"
    REGISTRAR = "registrar"
    REVIEWER = "reviewer"
    PLANNER = "planner"
    CLAIMS_OFFICER = "claims_officer"
    ANALYST = "analyst"
    AUDITOR = "auditor"


ROLE_LABELS = {
    Role.ADMIN: _("Administrator"),
    Role.REGISTRAR: _("Registrar"),
    Role.REVIEWER: _("Reviewer"),
    Role.PLANNER: _("Planner"),
    Role.CLAIMS_OFFICER: _("Claims officer"),
    Role.ANALYST: _("Analyst"),
    Role.AUDITOR: _("Auditor (read-only)"),
}

ALL_ROLES = frozenset(Role)


class Cap(StrEnum):
    """Capabilities; each is granted to a set of roles in ``MATRIX``."""

    DASHBOARD_VIEW = "dashboard.view"
    JOBS_VIEW = "jobs.view"
    AUDIT_VIEW = "audit.view"
    AUDIT_VERIFY = "audit.verify"
    STAFF_VIEW = "staff.view"
    STAFF_MANAGE = "staff.manage"
    TOKENS_OWN = "tokens.own"
    GAZETTEER_VIEW = "gazetteer.view"
    GAZETTEER_EDIT = "gazetteer.edit"
    GAZETTEER_IMPORT = "gazetteer.import"
    SECURITY_ASSESS = "security.assess"
    REGISTRY_VIEW = "registry.view"
    REGISTRY_EDIT = "registry.edit"
    REGISTRY_IMPORT = "registry.import"
    REGISTRY_CONFIGURE = "registry.configure"
    REGISTRY_RIGHTS = "registry.rights"
    LINKAGE_REVIEW = "linkage.review"
    LINKAGE_RUN = "linkage.run"
    CENSUS_VIEW = "census.view"
    CENSUS_EXACT = "census.exact"
    CENSUS_RUN = "census.run"
    PLANNING_VIEW = "planning.view"
    PLANNING_EDIT = "planning.edit"


MATRIX: dict[Cap, frozenset[Role]] = {
    Cap.DASHBOARD_VIEW: ALL_ROLES,
    Cap.JOBS_VIEW: ALL_ROLES,
    Cap.AUDIT_VIEW: frozenset({Role.ADMIN, Role.AUDITOR}),
    Cap.AUDIT_VERIFY: frozenset({Role.ADMIN, Role.AUDITOR}),
    Cap.STAFF_VIEW: frozenset({Role.ADMIN, Role.AUDITOR}),
    Cap.STAFF_MANAGE: frozenset({Role.ADMIN}),
    Cap.TOKENS_OWN: ALL_ROLES - {Role.AUDITOR},
    Cap.GAZETTEER_VIEW: ALL_ROLES,
    Cap.GAZETTEER_EDIT: frozenset({Role.ADMIN, Role.REGISTRAR}),
    Cap.GAZETTEER_IMPORT: frozenset({Role.ADMIN, Role.REGISTRAR}),
    Cap.SECURITY_ASSESS: frozenset({Role.ADMIN, Role.PLANNER}),
    # Individual records: the people who keep the registry and decide on identities and claims.
    Cap.REGISTRY_VIEW: frozenset({Role.ADMIN, Role.REGISTRAR, Role.REVIEWER, Role.CLAIMS_OFFICER}),
    Cap.REGISTRY_EDIT: frozenset({Role.ADMIN, Role.REGISTRAR}),
    Cap.REGISTRY_IMPORT: frozenset({Role.ADMIN, Role.REGISTRAR}),
    Cap.REGISTRY_CONFIGURE: frozenset({Role.ADMIN}),
    # Data subjects' requests (access, restriction, erasure): the administrator acts as data protection officer.
    Cap.REGISTRY_RIGHTS: frozenset({Role.ADMIN}),
    # Deciding whether two records are one person, and merging or splitting persons.
    Cap.LINKAGE_REVIEW: frozenset({Role.ADMIN, Role.REGISTRAR, Role.REVIEWER}),
    Cap.LINKAGE_RUN: frozenset({Role.ADMIN, Role.REGISTRAR}),
    # Census: disclosure-controlled tables for everyone on staff; exact counts (small cells can point at a
    # family) for those who keep the registry and the analysts who prepare releases.
    Cap.CENSUS_VIEW: ALL_ROLES,
    Cap.CENSUS_EXACT: frozenset({Role.ADMIN, Role.REGISTRAR, Role.ANALYST}),
    Cap.CENSUS_RUN: frozenset({Role.ADMIN, Role.ANALYST}),
    # Return plans hold counts per settlement, never a person: read by those who plan and analyse, made and
    # changed by planners.
    Cap.PLANNING_VIEW: frozenset({Role.ADMIN, Role.PLANNER, Role.ANALYST, Role.AUDITOR}),
    Cap.PLANNING_EDIT: frozenset({Role.ADMIN, Role.PLANNER}),
}


def roles_with(cap: Cap) -> frozenset[Role]:
    return MATRIX[cap]


def has_capability(roles: frozenset[str] | set[str], cap: Cap) -> bool:
    return bool(MATRIX[cap] & {Role(r) for r in roles if r in Role.__members__.values()})
