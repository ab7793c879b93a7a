"""API routes of the emotion app (mounted under /api/)."""

urlpatterns: list = []
