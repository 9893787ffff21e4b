from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
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


def client_ip(request: HttpRequest) -> str:
    """The client's address: behind one trusted proxy (HOMEWARD_TRUST_PROXY=1) the last X-Forwarded-For hop,
    otherwise the connection's own address (a client may write any X-Forwarded-For it likes)."""
    if getattr(settings, "TRUST_PROXY", False):
        forwarded = str(request.META.get("HTTP_X_FORWARDED_FOR", ""))
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1]
    return str(request.META.get("REMOTE_ADDR", ""))


class RejectNulMiddleware:
    """A NUL character is never valid input, and PostgreSQL refuses it in text: answer 400 at once."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def refuse(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": "NUL characters are not accepted"}, status=400)
        return HttpResponseBadRequest("NUL characters are not accepted", content_type="text/plain")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path or any(
            "\x00" in key or "\x00" in value for key, values in request.GET.lists() for value in values
        ):
            return self.refuse(request)
        # An API call without any credentials is answered 401 before its body is read: no need to parse it.
        anonymous_api = request.path.startswith("/api/") and not (
            request.headers.get("Authorization") or request.COOKIES
        )
        form = (
            not anonymous_api
            and request.method == "POST"
            and request.content_type
            in (
                "application/x-www-form-urlencoded",
                "multipart/form-data",
            )
        )
        if form and any("\x00" in value for _key, values in request.POST.lists() for value in values):
            return self.refuse(request)
        return self.get_response(request)


class IdleSessionMiddleware(SessionMiddleware):
    """Sessions end after 15 idle minutes: a page polling for progress is not the person being active.

    Requests marked ``X-Homeward-Poll`` (the job progress fragment) do not renew the session, so a
    forgotten tab with a job page open does not keep a session alive for ever.
    """

    def process_response(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        if request.headers.get("X-Homeward-Poll") == "1" and not request.session.modified:
            return response
        return super().process_response(request, response)
