from django.urls import path

from accounts import views

urlpatterns = [
    path("dashboard/", views.dashboard_view, name="dashboard"),
    path("settings/", views.settings_view, name="settings"),
    path("settings/consent/", views.consent_view, name="consent"),
    path("settings/export.json", views.export_view, name="data-export"),
    path("settings/delete/", views.delete_view, name="account-delete"),
]
