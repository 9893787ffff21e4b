from django.urls import include, path
from django.views.i18n import set_language

from homeward.access.gates import public
from homeward.api.api import api

urlpatterns = [
    # First: the public pages are the ones loaded most, and each address is looked for in this order.
    path("portal/", include("homeward.portal.urls")),
    path("", include("homeward.web.urls")),
    path("", include("homeward.access.urls")),
    path("audit/", include("homeward.audit.urls")),
    path("gazetteer/", include("homeward.gazetteer.urls")),
    path("registry/", include("homeward.registry.urls")),
    path("linkage/", include("homeward.linkage.urls")),
    path("census/", include("homeward.census.urls")),
    path("planning/", include("homeward.planning.urls")),
    path("accounts/", include("allauth.urls")),
    path("i18n/setlang/", public(set_language), name="set_language"),
    path("api/", api.urls),
]

handler400 = "homeward.web.errors.bad_request"
handler403 = "homeward.web.errors.forbidden"
handler404 = "homeward.web.errors.not_found"
handler500 = "homeward.web.errors.server_error"
