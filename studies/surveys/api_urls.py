"""API routes of studies.surveys (mounted under /api/)."""

urlpatterns: list = []
