"""A URLconf for tests only: Homeward's pages plus one view that fails, to see the error page."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from homeward.urls import handler400, handler403, handler404, handler500, urlpatterns


def explode(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("secret internal detail: /srv/homeward/var/keys.json")


urlpatterns = [*urlpatterns, path("explode/", explode)]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
