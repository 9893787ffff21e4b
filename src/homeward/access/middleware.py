from __future__ import annotations

from collections.abc import Callable

from allauth.mfa.models import Authenticator
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from homeward.access.gates import session_passed_mfa

# Pages a signed-in person without an authenticator may still open: the set-up itself and the way out.
_OPEN_URL_NAMES = (
    "mfa_activate_totp",
    "account_logout",
    "account_reauthenticate",
    "mfa_reauthenticate",
    "set_language",
    "healthz",
)


class StaffMfaRequiredMiddleware:
    """Every staff account must set up TOTP before it can open anything else, and every session must have
    passed it: a session signed in before an administrator enrolled an authenticator is ended."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._open_paths: tuple[str, ...] | None = None

    def open_paths(self) -> tuple[str, ...]:
        if self._open_paths is None:
            self._open_paths = (*(reverse(name) for name in _OPEN_URL_NAMES), settings.STATIC_URL)
        return self._open_paths

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        if user.is_authenticated and not request.path.startswith(("/api/", settings.STATIC_URL)):
            totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
            if totp is None:
                if not request.path.startswith(self.open_paths()):
                    return redirect("mfa_activate_totp")
            elif not session_passed_mfa(request, totp):
                logout(request)
                return redirect_to_login(request.get_full_path())
        return self.get_response(request)
