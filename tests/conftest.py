"""Shared fixtures. Tests run eagerly on Celery whatever REDIS_URL says, except the one
that starts a real worker (tests/accounts/test_runtime_services.py)."""

from __future__ import annotations

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _eager_celery_and_clean_cache(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only
    from config.celery_app import app

    app.conf.task_always_eager = True
    from studies.listening.services.event_plans import PLANS

    cache.clear()
    PLANS.clear()  # test databases reuse ids after a rollback; production never does
    yield
    cache.clear()
    PLANS.clear()


@pytest.fixture
def make_user(db):
    from accounts.models import User
    from accounts.services import user_set_role

    counter = {"n": 0}

    def make(role: str = "participant", username: str | None = None, password: str = "correct-horse-battery-9", **consents):
        from accounts.services import consent_set

        counter["n"] += 1
        user = User.objects.create_user(username=username or f"{role}-{counter['n']}", password=password)
        user_set_role(user=user, role=role)
        for purpose, granted in consents.items():
            consent_set(user=user, purpose=purpose, granted=granted)
        return user

    return make


@pytest.fixture
def participant(make_user):
    return make_user("participant")


@pytest.fixture
def researcher(make_user):
    return make_user("researcher")


@pytest.fixture
def therapist(make_user):
    return make_user("therapist")


# --- the attack suites report their counts at the end of every run (issue 13) ------------------
_SUITE_LINES: list[str] = []


@pytest.fixture
def suite_report():
    """Call with one line ("schemathesis: 14 operations, 420 requests, 0 failures"); the line is
    printed in pytest's closing summary, so `make test` shows what the attack suites did."""
    return _SUITE_LINES.append


def pytest_terminal_summary(terminalreporter):
    if _SUITE_LINES:
        terminalreporter.section("attack suites")
        for line in _SUITE_LINES:
            terminalreporter.write_line(line)
