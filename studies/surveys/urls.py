"""Pages of studies.surveys."""

from django.urls import path

from studies.surveys import views

app_name = "surveys"
urlpatterns = [
    path("surveys/", views.survey_list_view, name="survey-list"),
    path("surveys/<int:survey_id>/", views.survey_take_view, name="survey-take"),
]
