from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from homeward.access.gates import user_can, user_roles
from homeward.access.roles import ROLE_LABELS, Cap, Role


class _Caps:
    """Lets templates ask ``{% if caps.audit_view %}``."""

    def __init__(self, user: Any) -> None:
        self.user = user

    def __getattr__(self, name: str) -> bool:
        try:
            cap = Cap(name.replace("_", ".", 1))
        except ValueError:
            return False
        return user_can(self.user, cap)


def roles(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    names = sorted(user_roles(user))
    return {"caps": _Caps(user), "my_roles": [ROLE_LABELS[Role(n)] for n in names]}
