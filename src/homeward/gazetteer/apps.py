from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class GazetteerConfig(AppConfig):
    name = "homeward.gazetteer"
    label = "gazetteer"
    verbose_name = _("Gazetteer")

    def ready(self) -> None:
        from homeward.core.jobs import register_job_kind

        register_job_kind("gazetteer.import", handler="homeward.gazetteer.jobs.import_job", label=_("Gazetteer import"))
