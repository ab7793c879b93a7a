from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "studies.experiments"
    label = "experiments"
    verbose_name = "A/B experiments"
