from django.apps import AppConfig


class ListeningConfig(AppConfig):
    name = "studies.listening"
    label = "listening"
    verbose_name = "Listening sessions"
