from django.urls import path

from accounts import therapist_views, views

urlpatterns = [
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/consent/", views.consent_view, name="consent"),
    path("settings/export.json", views.export_view, name="data-export"),
    path("settings/delete/", views.delete_view, name="account-delete"),
    path("settings/therapist/", therapist_views.my_therapist_view, name="my-therapist"),
    path("clients/", therapist_views.clients_view, name="therapist-clients"),
    path("clients/<int:link_id>/", therapist_views.client_detail_view, name="therapist-client"),
]
