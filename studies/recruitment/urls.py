"""Pages of studies.recruitment."""

from django.urls import path

from studies.recruitment import exports, views

app_name = "recruitment"
urlpatterns = [
    path("r/<str:token>/", views.entry_view, name="entry"),
    path("r/<str:token>/study/", views.study_view, name="study"),
    path("r/<str:token>/study/<str:phase>/<str:key>/", views.instrument_view, name="instrument"),
    path("r/<str:token>/finish/", views.finish_view, name="finish"),
    path("research/experiments/<int:experiment_id>/plan/", views.plan_view, name="plan"),
    path("research/experiments/<int:experiment_id>/plan.json", views.plan_json_view, name="plan-json"),
    path("research/links/<int:link_id>/entries.csv", exports.entries_csv_view, name="entries-csv"),
    path("research/<str:kind>/<int:study_id>/long.csv", exports.long_csv_view, name="long-csv"),
    path("research/<str:kind>/<int:study_id>/codebook.<str:fmt>", exports.codebook_view, name="codebook"),
    path("research/<str:kind>/<int:study_id>/data.sav", exports.sav_view, name="sav"),
]
