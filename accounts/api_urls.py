from django.urls import path

from accounts.api import MeApi, MeConsentsApi

urlpatterns = [
    path("me/", MeApi.as_view(), name="api-me"),
    path("me/consents/", MeConsentsApi.as_view(), name="api-me-consents"),
]
