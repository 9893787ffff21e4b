from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinkageConfig(AppConfig):
    name = "homeward.linkage"
    label = "linkage"
    verbose_name = _("Record linkage")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind("linkage.run", handler="homeward.linkage.jobs.linkage_job", label=_("Record linkage"))
