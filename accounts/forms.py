"""Forms for sign-up extras and the consent/settings pages."""

from __future__ import annotations

from allauth.account.forms import LoginForm, SignupForm
from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.consent import PURPOSE_TEXTS
from accounts.models import Mode
from accounts.services import user_set_mode


class PseudonymSignupForm(SignupForm):
    """allauth's sign-up form, asking for a pseudonym and how the person will use Attune."""

    mode = forms.ChoiceField(
        choices=Mode.choices,
        initial=Mode.PERSONAL,
        widget=forms.RadioSelect,
        label=_("How will you use Attune?"),
        help_text=_("Choose therapy if a therapist gave you an invite code; you can change this later."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = _("Pseudonym")
        self.fields["username"].help_text = _("Not your real name: this is how Attune knows you.")
        self.fields["username"].widget.attrs["placeholder"] = _("e.g. quiet-otter")
        self.fields["email"].help_text = _("Optional; only used to reset a forgotten password.")

    def save(self, request):
        user = super().save(request)
        user_set_mode(user=user, mode=self.cleaned_data["mode"])
        return user


class PseudonymLoginForm(LoginForm):
    """allauth's log-in form, asking for the pseudonym by the name sign-up gave it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["login"].label = _("Pseudonym")
        self.fields["login"].widget.attrs["placeholder"] = _("Your pseudonym")


class ConsentForm(forms.Form):
    """One checkbox per purpose, each explained in plain words."""

    def __init__(self, *args, current: dict[str, bool], **kwargs):
        super().__init__(*args, **kwargs)
        for text in PURPOSE_TEXTS:
            self.fields[text.purpose.value] = forms.BooleanField(
                required=False,
                initial=current.get(text.purpose.value, False),
                label=_(text.title),
                help_text=_(text.explanation),
            )


class ModeForm(forms.Form):
    mode = forms.ChoiceField(choices=Mode.choices, widget=forms.RadioSelect, label=_("How you use Attune"))


class DeleteAccountForm(forms.Form):
    confirm = forms.CharField(
        label=_("Type your pseudonym to confirm"),
        help_text=_("This cannot be undone."),
        max_length=150,
    )

    def __init__(self, *args, username: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.username = username

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if value != self.username:
            raise forms.ValidationError(_("That is not your pseudonym; nothing was deleted."))
        return value
