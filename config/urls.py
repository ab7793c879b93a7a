from allauth.account.decorators import secure_admin_login
from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from accounts import views as account_views

handler404 = "config.middleware.not_found"

admin.site.site_header = "Attune research admin"
admin.site.site_title = "Attune admin"
# The admin has no log-in form of its own: it sends people to the site's log-in, which is
# rate limited (accounts/adapter.py), so no password is ever checked without a throttle.
admin.site.login = secure_admin_login(admin.site.login)

urlpatterns = [
    path("", account_views.home, name="home"),
    path("healthz", account_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    # Language switcher (POST to set_language) and the JavaScript catalog, served as a script file (CSP).
    path("i18n/", include("django.conf.urls.i18n")),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("", include("accounts.urls")),
    path("", include("recommender.urls")),
    path("", include("studies.surveys.urls")),
    path("", include("studies.listening.urls")),
    path("", include("therapy.urls")),
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
    # The split view serves Swagger UI's init script as a file (no inline script: CSP).
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Redoc (styled-components) writes its styles into <style> elements at run time: that page
    # alone allows inline <style> elements. Scripts stay 'self' only, here as everywhere.
    path(
        "api/redoc/",
        csp_replace({"style-src-elem": [SELF, UNSAFE_INLINE]})(SpectacularRedocView.as_view(url_name="schema")),
        name="api-redoc",
    ),
]
# No /media/ route in any mode: stored files are served only by views that check who asks
# (e.g. recommender.views.track_audio_view).
