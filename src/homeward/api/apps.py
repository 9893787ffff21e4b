from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "homeward.api"
    label = "homeward_api"
    verbose_name = "API"
