"""Pages of studies.listening."""

app_name = "listening"
urlpatterns: list = []
