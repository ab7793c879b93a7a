from django.apps import AppConfig


class RecruitmentConfig(AppConfig):
    name = "studies.recruitment"
    label = "recruitment"
    verbose_name = "Recruitment, instruments and analysis plans"
