"""Participant pages: the list of open surveys and the survey itself (driven by surveys-take.js)."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext

from accounts.selectors import has_consent
from emotion.labels import gems_info
from studies.surveys.models import Survey, SurveyStatus
from studies.surveys.selectors import RESEARCH, answers_given, surveys_open_for


@login_required
def survey_list_view(request: HttpRequest) -> HttpResponse:
    surveys = surveys_open_for(viewer=request.user)
    return render(request, "surveys/survey_list.html", {
        "surveys": surveys, "consented": has_consent(request.user, RESEARCH),
    })


@login_required
def survey_take_view(request: HttpRequest, survey_id: int) -> HttpResponse:
    survey = Survey.objects.exclude(status=SurveyStatus.DRAFT).filter(pk=survey_id).first()
    if survey is None:
        raise Http404(gettext("There is no such survey."))
    return render(request, "surveys/survey_take.html", {
        "survey": survey,
        "consented": has_consent(request.user, RESEARCH),
        "answered": answers_given(user=request.user, survey=survey),
        "emotions": gems_info(),
        "scale": range(1, 6),
        "intensity_scale": range(0, 5),
    })
