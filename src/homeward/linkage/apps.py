from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LinkageConfig(AppConfig):
    name = "homeward.linkage"
    label = "linkage"
    verbose_name = _("Record linkage")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind("linkage.run", handler="homeward.linkage.jobs.linkage_job", label=_("Record linkage"))
        from homeward.linkage.services import forget_records
        from homeward.registry.services.persons import ERASURE_HOOKS

        if forget_records not in ERASURE_HOOKS:
            ERASURE_HOOKS.append(forget_records)
