"""Pages of studies.surveys."""

app_name = "surveys"
urlpatterns: list = []
