from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers, patch_cache_control

PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"


class PrivateResponseHeadersMiddleware:
    """Headers every response gets, and ``no-store`` on everything a signed-in person sees.

    Staff pages show personal data; none of them may be kept by a browser or a
    proxy cache. Static files are exempt.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        user = getattr(request, "user", None)
        if (user is not None and user.is_authenticated) or getattr(response, "homeward_private", False):
            add_never_cache_headers(response)
            patch_cache_control(response, no_store=True, private=True)
        return response
