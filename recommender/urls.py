"""Pages of the recommender app."""

urlpatterns: list = []
