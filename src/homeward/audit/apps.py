from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AuditConfig(AppConfig):
    name = "homeward.audit"
    label = "audit"
    verbose_name = _("Audit")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind("audit.verify", handler="homeward.audit.jobs.verify_chain_job", label=_("Audit chain check"))
