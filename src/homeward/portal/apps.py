from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "homeward.portal"
    label = "portal"
    verbose_name = _("Self-registration portal")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind(
            "portal.record", handler="homeward.portal.jobs.record_job", label=_("Recording registrations")
        )
        register_job_kind("portal.match", handler="homeward.portal.jobs.match_job", label=_("Matching a registration"))
