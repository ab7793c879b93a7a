"""Settings of the serving layer (config/asgi.py), declared once like every app's (app_settings.py)."""

from __future__ import annotations

from typing import Any

from config.app_settings import Setting, Settings

SETTINGS = Settings(
    Setting("HTTP_HANDLER", "ATTUNE_HTTP_HANDLER", str, "pooled",
            "pooled (Django's sync handler on a thread pool) or django (Django's async ASGIHandler)"),
    Setting("HTTP_THREADS", "ATTUNE_HTTP_THREADS", int, 8, "threads of the pooled HTTP handler, each with its connection"),
    Setting("DB_PREPARED_STATEMENTS", "ATTUNE_DB_PREPARED_STATEMENTS", bool, True,
            "PostgreSQL: prepare the hot-path statements once per connection (off behind a transaction-mode pooler)"),
)

# Variables the test harness reads (tests/conftest.py, .ci/run); not settings of the app.
TEST_HARNESS_VARIABLES = ("ATTUNE_REQUIRE_BROWSER", "ATTUNE_REQUIRE_SERVICES", "ATTUNE_CHROMIUM")


def __getattr__(name: str) -> Any:
    return SETTINGS.value(name)
