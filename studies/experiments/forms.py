"""Forms of the experiments admin."""

from __future__ import annotations

from django import forms

from studies.experiments.models import FROZEN_AFTER_START, Experiment, SecondaryMetric, Variant

__all__ = ["FROZEN_AFTER_START", "ExperimentForm", "PowerQueryForm", "VariantForm"]


class ExperimentForm(forms.ModelForm):
    secondary_metrics = forms.MultipleChoiceField(
        choices=SecondaryMetric.choices, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Tested against the control with Holm's correction across the chosen metrics.")

    class Meta:
        model = Experiment
        fields = ["name", "hypothesis_null", "hypothesis_alt", "eligible_modes", "primary_metric",
                  "secondary_metrics", "design", "alpha", "minimum_detectable_effect", "outcome_sd", "power",
                  "assumed_icc", "sessions_per_participant"]
        widgets = {"hypothesis_null": forms.Textarea(attrs={"rows": 2}),
                   "hypothesis_alt": forms.Textarea(attrs={"rows": 2})}

    def clean_secondary_metrics(self) -> list[str]:
        return list(self.cleaned_data.get("secondary_metrics") or [])


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ["name", "strategy", "params", "weight", "is_control"]
        widgets = {"params": forms.Textarea(attrs={"rows": 1, "cols": 30})}


class PowerQueryForm(forms.Form):
    """The live power calculation in the admin form (GET parameters of the power endpoint)."""

    alpha = forms.FloatField(min_value=0.001, max_value=0.2)
    mde = forms.FloatField(min_value=1e-6, max_value=10.0)
    sd = forms.FloatField(min_value=1e-6, max_value=10.0)
    power = forms.FloatField(min_value=0.5, max_value=0.99)
    icc = forms.FloatField(required=False, help_text="assumed ICC in [0, 1)")
    sessions = forms.FloatField(min_value=1.0, max_value=365.0, required=False)
    design = forms.ChoiceField(choices=[("between", "between"), ("within", "within")], required=False)
    weights = forms.CharField(max_length=200, required=False)
    control = forms.IntegerField(min_value=0, max_value=50, required=False)

    def clean_icc(self) -> float:
        icc = self.cleaned_data.get("icc")
        if icc is None:
            return 0.0
        if not 0.0 <= icc < 1.0:
            raise forms.ValidationError(f"The assumed ICC must lie in [0, 1); got {icc:g}.")
        return icc

    def clean_weights(self) -> list[float]:
        raw = (self.cleaned_data.get("weights") or "").strip()
        if not raw:
            return [1.0, 1.0]
        try:
            weights = [float(w) for w in raw.split(",")]
        except ValueError:
            raise forms.ValidationError("Weights must be numbers separated by commas.") from None
        if len(weights) > 50 or any(not (0 < w <= 1000) for w in weights):
            raise forms.ValidationError("Give at most 50 weights, each in (0, 1000].")
        if len(weights) < 2:
            weights = weights + [1.0]
        return weights
