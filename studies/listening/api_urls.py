"""API routes of studies.listening (mounted under /api/)."""

urlpatterns: list = []
