"""The last installed app: its ready() runs the composition module (config/wiring.py) once every
other app is loaded."""

from django.apps import AppConfig


class WiringConfig(AppConfig):
    name = "config"
    label = "attune_wiring"
    verbose_name = "Attune wiring"

    def ready(self) -> None:
        from config import wiring  # at ready(): it imports every app's models and services

        wiring.wire()
