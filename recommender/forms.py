"""Forms of the recommender: the admin's CSV upload."""

from __future__ import annotations

from django import forms

from recommender.uploads import csv_upload_check


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Spotify tracks data-set layout: track_id, track_name, artists required; "
        "album_name, popularity, duration_ms, explicit, audio features and track_genre optional.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        csv_upload_check(upload, name=upload.name, size=upload.size)  # by content (recommender/uploads.py)
        return upload
