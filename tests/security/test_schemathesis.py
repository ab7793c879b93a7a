"""The schemathesis suite (issue 13): the live OpenAPI schema (/api/schema/), every operation,
positive and negative examples, authenticated as a participant who has a survey to answer and
an active listening session, bounded to a fixed number of examples per operation and mode.
Operations with path parameters run once with generated ids and once with the participant's
own objects. It must find no server error and no response that disagrees with the schema
(status code, content type, body)."""

from __future__ import annotations

import secrets
from collections import Counter

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode

EXAMPLES_PER_OPERATION = 10  # per generation mode and id source; keeps the suite to seconds
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def _participant_credentials(user) -> tuple[dict[str, str], dict[str, str]]:
    browser = Client()
    browser.force_login(user)
    csrf = secrets.token_hex(16)  # an unmasked CSRF secret (32 characters), as cookie and header
    return {"sessionid": browser.cookies["sessionid"].value, "csrftoken": csrf}, {"X-CSRFToken": csrf}


@pytest.mark.django_db
def test_the_api_keeps_to_its_schema_for_a_participant(world, settings, suite_report):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"anon": None, "user": None}}
    # As Django's test client does: the requests run inside the test's transaction, so the
    # handler must not close the database connection at the end of each request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        _run_schemathesis(world, suite_report)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _run_schemathesis(world, suite_report) -> None:
    schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
    cookies, headers = _participant_credentials(world["user"])
    own_ids = {"session_id": world["session"].pk, "survey_id": world["survey"].pk,
               "playlist_id": world["session"].playlist_id}
    statuses: Counter[int] = Counter()
    ok_operations: set[str] = set()
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 12, "the schema lists every API operation"

    for operation in operations:
        names = [p.name for p in operation.path_parameters]
        id_sources: list[dict | None] = [None]
        if names and all(n in own_ids for n in names):
            id_sources.append({n: own_ids[n] for n in names})
        for path_parameters in id_sources:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

                @given(case=strategy)
                @hypothesis_settings(
                    max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                    phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                )
                def run(case):
                    response = case.call(headers=headers, cookies=cookies)
                    statuses[response.status_code] += 1
                    if response.status_code < 300:
                        ok_operations.add(operation.label)
                    try:
                        case.validate_response(response, checks=CHECKS)
                    except (FailureGroup, Exception) as exc:  # keep every failure, not just the first
                        failures.append(f"{operation.label} [{mode.value}] {response.status_code}: {str(exc)[:800]}")

                run()

    total = sum(statuses.values())
    suite_report(f"schemathesis: {len(operations)} operations, {total} requests, statuses {dict(sorted(statuses.items()))}, "
          f"{len([s for s in statuses.elements() if s >= 500])} server errors, {len(failures)} schema failures")
    assert failures == [], "\n\n".join(failures[:10])
    assert statuses[500] == 0
    assert len(ok_operations) >= len(operations) // 2, f"too few successful calls to mean much: {sorted(ok_operations)}"
