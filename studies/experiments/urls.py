"""Pages of studies.experiments (the researcher UI lives in the admin)."""

app_name = "experiments"
urlpatterns: list = []
