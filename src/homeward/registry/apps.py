from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "homeward.registry"
    label = "registry"
    verbose_name = _("Registry")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind("registry.import", handler="homeward.registry.jobs.import_job", label=_("Registry import"))
        register_job_kind(
            "registry.eligibility", handler="homeward.registry.jobs.eligibility_job", label=_("Eligibility update")
        )
