from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from accounts import views as account_views

admin.site.site_header = "Attune research admin"
admin.site.site_title = "Attune admin"

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", account_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("accounts.urls")),
    path("", include("recommender.urls")),
    path("", include("studies.surveys.urls")),
    path("", include("studies.listening.urls")),
    path("", include("studies.experiments.urls")),
    path("", include("studies.recruitment.urls")),
    path("", include("emotion.urls")),
    path("api/", include("accounts.api_urls")),
    path("api/", include("recommender.api_urls")),
    path("api/", include("studies.surveys.api_urls")),
    path("api/", include("studies.listening.api_urls")),
    path("api/", include("studies.experiments.api_urls")),
    path("api/", include("emotion.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
]
if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
