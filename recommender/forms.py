"""Forms of the recommender: the admin's CSV upload."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from recommender import conf


class CsvUploadForm(forms.Form):
    file = forms.FileField(
        label="CSV file",
        help_text="Spotify tracks data-set layout: track_id, track_name, artists required; "
        "album_name, popularity, duration_ms, explicit, audio features and track_genre optional.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith(".csv"):
            raise ValidationError("Upload a .csv file.")
        if upload.size == 0:
            raise ValidationError("The file is empty.")
        if upload.size > conf.IMPORT_MAX_BYTES:
            raise ValidationError(
                f"The file is {upload.size / 1e6:.1f} MB; the limit is {conf.IMPORT_MAX_BYTES / 1e6:.0f} MB."
            )
        return upload
