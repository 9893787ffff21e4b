"""The root of the JSON API: error format, and the routers of the apps."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from homeward.core.errors import NotFoundError, PermissionDeniedError, ValidationError

api = NinjaAPI(
    title="Homeward API",
    version="1",
    description=(
        "The JSON API of Homeward. Authenticate with `Authorization: Bearer <token>` (create a token on your "
        "account page or with `homeward staff token USER`), or with a signed-in session. Every call acts with "
        "the roles of the token's owner."
    ),
    urls_namespace="api",
)


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(request, {"detail": "authentication required"}, status=401)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(NotFoundError)
def _not_found(request: HttpRequest, exc: NotFoundError) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=404)


@api.exception_handler(PermissionDeniedError)
@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, {"detail": "your role does not allow this"}, status=403)


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    problems = [{"row": r, "field": f, "reason": why} for r, f, why in exc.problems]
    return api.create_response(request, {"detail": str(exc), "problems": problems}, status=422)


@api.exception_handler(NinjaValidationError)
def _invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    problems = [
        {"row": "", "field": ".".join(str(p) for p in e.get("loc", [])), "reason": str(e.get("msg", ""))}
        for e in exc.errors
    ]
    return api.create_response(request, {"detail": "invalid request", "problems": problems}, status=422)


def _mount() -> None:
    from homeward.audit.api import router as audit_router
    from homeward.gazetteer.api import router as gazetteer_router
    from homeward.registry.api import router as registry_router
    from homeward.web.api import router as web_router

    api.add_router("/audit/", audit_router)
    api.add_router("/gazetteer/", gazetteer_router)
    api.add_router("/registry/", registry_router)
    api.add_router("/", web_router)


_mount()
