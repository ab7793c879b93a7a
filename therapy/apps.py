from django.apps import AppConfig


class TherapyConfig(AppConfig):
    name = "therapy"
    verbose_name = "Therapy"
