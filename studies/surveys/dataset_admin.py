"""Admin for imported song-emotion data sets (imported by studies/surveys/admin.py).

Add = upload a CSV of one of four shapes with its provenance; the import runs as a Celery task
(progress on the list and the page); a file with any bad row imports nothing and the page lists
the rows. Delete = remove the data set as a whole (its labels leave the catalog's pool)."""

from __future__ import annotations

import json

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html, format_html_join

from studies.label_datasets import DEFAULT_TAG_MAP
from studies.surveys.datasets import dataset_import_create, dataset_remove
from studies.surveys.models import DatasetShape, LabelDataset, RunStatus
from studies.surveys.tasks import ml_evaluate_dataset, surveys_dataset_import


class DatasetUploadForm(forms.Form):
    name = forms.CharField(max_length=120, help_text="e.g. Emotify, DEAM, PMEmo. Importing under the same name again replaces it.")
    licence_note = forms.CharField(max_length=300, required=False, help_text="licence and citation of the data set")
    shape = forms.ChoiceField(choices=DatasetShape.choices)
    file = forms.FileField(label="CSV file", help_text="Examples of each shape: docs/datasets/ in the repository.")
    scale_low = forms.FloatField(initial=1.0, help_text="valence/arousal shape: lowest value of the scale")
    scale_high = forms.FloatField(initial=9.0, help_text="valence/arousal shape: highest value of the scale")
    tag_map = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text="tags shape: JSON {tag: {GEMS emotion: weight}}; empty uses the default map shown below.",
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if not upload.name.lower().endswith((".csv", ".tsv", ".txt")):
            raise ValidationError("Upload a .csv file.")
        return upload

    def clean_tag_map(self):
        text = self.cleaned_data.get("tag_map", "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"The tag map is not valid JSON ({exc.msg}, line {exc.lineno}).") from None
        if not isinstance(value, dict) or not all(isinstance(v, dict) for v in value.values()):
            raise ValidationError("The tag map is an object of {tag: {emotion: weight}}.")
        return value


@admin.register(LabelDataset)
class LabelDatasetAdmin(admin.ModelAdmin):
    change_form_template = "admin/surveys/labeldataset/change_form.html"
    list_display = ("name", "shape", "status", "progress_percent", "songs_matched_of", "rater_count", "alpha", "created_at")
    readonly_fields = (
        "name", "licence_note", "shape", "scale_low", "scale_high", "source_name", "status", "progress_percent",
        "message", "songs_matched_of", "rater_count", "alpha", "row_errors", "unmatched_songs", "rater_figures",
        "held_out_figures", "created_at", "finished_at",
    )
    exclude = ("upload", "tag_map", "errors", "unmatched", "figures", "created_by", "progress", "rows", "songs", "songs_matched")

    @admin.display(description="progress")
    def progress_percent(self, obj: LabelDataset) -> str:
        return f"{obj.percent} %"

    @admin.display(description="songs matched")
    def songs_matched_of(self, obj: LabelDataset) -> str:
        return f"{obj.songs_matched} of {obj.songs} ({obj.match_rate:.0%})" if obj.songs else "—"

    @admin.display(description="Krippendorff's alpha")
    def alpha(self, obj: LabelDataset) -> str:
        value = (obj.figures or {}).get("alpha", {}).get("overall")
        if obj.shape != DatasetShape.RATERS:
            return "— (one label per song: no raters to agree)"
        return "n/a (too few songs with two or more raters)" if value is None else f"{value:.3f}"

    @admin.display(description="rows refused")
    def row_errors(self, obj: LabelDataset):
        if not obj.errors:
            return "none"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((e,) for e in obj.errors)))

    @admin.display(description="songs not in the catalog (first 50)")
    def unmatched_songs(self, obj: LabelDataset):
        if not obj.unmatched:
            return "none"
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((u,) for u in obj.unmatched)))

    @admin.display(description="raters")
    def rater_figures(self, obj: LabelDataset):
        raters = (obj.figures or {}).get("raters") or []
        if not raters:
            return "—"
        rows = ((r["code"], r["n_ratings"], f"{r['weight']:.2f}", "; ".join(r["reasons"]) or "—") for r in raters[:200])
        return format_html(
            "<table><thead><tr><th>rater</th><th>answers</th><th>weight</th><th>why down-weighted</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    @admin.display(description="How well does Attune predict this data set?")
    def held_out_figures(self, obj: LabelDataset):
        held = (obj.figures or {}).get("held_out")
        if not held:
            return ("Not evaluated yet (button at the top of the page). Every method learns only from the other "
                    "human labels (surveys, manual, other data sets) and predicts this data set's tracks.")
        rows = (
            (s["method"], s["n"], f"{s['mean_jsd']:.3f}", f"{s['top1']:.0%}", s["verdict"]) for s in held["scores"]
        )
        return format_html(
            "<p>Trained on {} labelled tracks outside the data set; {} held-out tracks. JSD in bits, lower is better.</p>"
            "<table><thead><tr><th>method</th><th>tracks</th><th>JSD</th><th>top-1</th><th>verdict</th></tr></thead>"
            "<tbody>{}</tbody></table>",
            held["trained_on"], held["held_out"],
            format_html_join("", "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>", rows),
        )

    def get_urls(self):
        return [
            path("<int:pk>/evaluate/", self.admin_site.admin_view(self.evaluate_view), name="surveys_labeldataset_evaluate"),
            *super().get_urls(),
        ]

    def evaluate_view(self, request, pk: int):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_view_permission(request):
            raise PermissionDenied
        dataset = get_object_or_404(LabelDataset, pk=pk)
        if dataset.status != RunStatus.DONE:
            messages.error(request, "Only an imported data set can be evaluated.")
        else:
            transaction.on_commit(lambda: ml_evaluate_dataset.delay(dataset.pk))
            messages.success(request, "Evaluation queued: the figures appear on this page when it has run.")
        return redirect("admin:surveys_labeldataset_change", dataset.pk)

    def has_change_permission(self, request, obj=None):
        return False

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = DatasetUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                with transaction.atomic():
                    dataset = dataset_import_create(
                        name=data["name"], shape=data["shape"], data=data["file"].read(), source_name=data["file"].name,
                        licence_note=data["licence_note"], scale=(data["scale_low"], data["scale_high"]),
                        tag_map=data["tag_map"], created_by=request.user,
                    )
                    transaction.on_commit(lambda: surveys_dataset_import.delay(dataset.pk))
            except ValidationError as exc:
                for field, errors in exc.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, f"Importing {dataset.name}: progress and the report are on its page.")
                return redirect("admin:surveys_labeldataset_change", dataset.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a song-emotion data set",
            "form": form,
            "opts": self.model._meta,
            "default_tag_map": json.dumps(DEFAULT_TAG_MAP, indent=1),
        }
        return TemplateResponse(request, "admin/surveys/dataset_upload.html", context, status=400 if form.errors else 200)

    def delete_model(self, request, obj):
        dataset_remove(dataset=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            dataset_remove(dataset=obj)
