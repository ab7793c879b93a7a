"""Pages of the emotion app."""

from django.urls import path

from emotion import views

app_name = "emotion"

urlpatterns = [
    path("mood-check/", views.mood_check_view, name="mood-check"),
]
