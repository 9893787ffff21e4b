from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "homeward.portal"
    label = "portal"
    verbose_name = _("Self-registration portal")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from homeward.core.jobs import register_job_kind
        from homeward.portal import selectors
        from homeward.registry.models import DisplacementEvent, InformationSheet

        for model in (InformationSheet, DisplacementEvent):
            post_save.connect(selectors.forget, sender=model, dispatch_uid=f"portal.forget.{model.__name__}")
            post_delete.connect(selectors.forget, sender=model, dispatch_uid=f"portal.forget.{model.__name__}.gone")

        register_job_kind(
            "portal.record", handler="homeward.portal.jobs.record_job", label=_("Recording registrations")
        )
        register_job_kind("portal.match", handler="homeward.portal.jobs.match_job", label=_("Matching a registration"))
