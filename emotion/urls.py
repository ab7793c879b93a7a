"""Pages of the emotion app."""

urlpatterns: list = []
