"""API authentication: a bearer token, or the signed-in session (with CSRF on writes); then the capability."""

from __future__ import annotations

from typing import Any

from allauth.mfa.models import Authenticator
from django.http import HttpRequest
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.utils import check_csrf

from homeward.access.gates import session_passed_mfa, user_can
from homeward.access.roles import Cap
from homeward.access.services import api_token_user

SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class Staff(HttpBearer):
    """Allows a staff member holding ``cap``; 401 for nobody, 403 for the wrong role."""

    def __init__(self, cap: Cap) -> None:
        super().__init__()
        self.cap = cap

    def __call__(self, request: HttpRequest) -> Any | None:
        header = request.headers.get("Authorization", "")
        user: Any | None = None
        if header:
            scheme, _, secret = header.partition(" ")
            if scheme.lower() != "bearer" or not secret:
                return None
            user = api_token_user(secret.strip())
        elif request.user.is_authenticated:
            if request.method not in SAFE_METHODS and check_csrf(request) is not None:
                raise HttpError(403, "CSRF check failed")
            totp = Authenticator.objects.filter(user=request.user, type=Authenticator.Type.TOTP).first()
            if totp is None or not session_passed_mfa(request, totp):
                raise HttpError(403, "sign in with two-factor authentication first")
            user = request.user
        if user is None:
            return None
        if not user_can(user, self.cap):
            raise HttpError(403, "your role does not allow this")
        request.user = user
        return user

    def authenticate(self, request: HttpRequest, token: str) -> Any | None:  # pragma: no cover - __call__ decides
        return None
