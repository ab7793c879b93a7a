"""Pages of studies.listening."""

from django.urls import path

from studies.listening import views

app_name = "listening"
urlpatterns = [
    path("sessions/new/", views.session_new_view, name="session-new"),
    path("sessions/history/", views.session_history_view, name="session-history"),
    path("sessions/<int:session_id>/", views.session_play_view, name="session-play"),
    path("sessions/<int:session_id>/finish/", views.session_finish_view, name="session-finish"),
]
