from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "studies.surveys"
    label = "surveys"
    verbose_name = "Song-emotion surveys"
