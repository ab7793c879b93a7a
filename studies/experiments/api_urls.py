"""API routes of studies.experiments (mounted under /api/)."""

urlpatterns: list = []
