from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CensusConfig(AppConfig):
    name = "homeward.census"
    label = "census"
    verbose_name = _("Census statistics")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind("census.run", handler="homeward.census.jobs.census_run_job", label=_("Census run"))
