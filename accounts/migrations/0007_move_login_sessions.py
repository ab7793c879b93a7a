"""Move the live log-in sessions from django.contrib.sessions' table into accounts.LoginSession,
so nobody is logged out by the change of session engine (issue 16).

Each session keeps its key, data and expiry; the new row also names its account. Sessions
started by the stock backends now name this project's subclasses of them (same log-in, same
checks). Expired sessions are not moved. The old rows are deleted, so an account's erasure,
which ends the sessions in the new table, cannot miss one. Reversible.
"""

from django.contrib.sessions.backends.base import SessionBase
from django.db import migrations
from django.utils import timezone

BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "accounts.auth_backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend": "accounts.auth_backends.AuthenticationBackend",
}


class _Codec(SessionBase):
    """Encodes and decodes session data as both engines do (the salt is the class name, SessionStore)."""

    __qualname__ = "SessionStore"


def _moved_data(data: str, backends: dict[str, str]) -> tuple[str, int | None]:
    codec = _Codec()
    session = codec.decode(data)
    if not session:  # unreadable (another SECRET_KEY): it would log nobody in; move it as it is
        return data, None
    backend = session.get("_auth_user_backend")
    if backend in backends:
        session["_auth_user_backend"] = backends[backend]
    user_id = session.get("_auth_user_id")
    return codec.encode(session), int(user_id) if str(user_id or "").isdigit() else None


def _move(apps, source_label: str, target_label: str, backends: dict[str, str], with_user: bool) -> None:
    source, target = apps.get_model(*source_label.split(".")), apps.get_model(*target_label.split("."))
    live = source.objects.filter(expire_date__gt=timezone.now())
    rows = []
    for row in live.iterator():
        data, user_id = _moved_data(row.session_data, backends)
        fields = {"session_key": row.session_key, "session_data": data, "expire_date": row.expire_date}
        if with_user:
            fields["user_id"] = user_id
        rows.append(target(**fields))
    target.objects.bulk_create(rows, batch_size=500, ignore_conflicts=True)
    source.objects.all().delete()


def forward(apps, schema_editor):
    _move(apps, "sessions.Session", "accounts.LoginSession", BACKENDS, with_user=True)


def backward(apps, schema_editor):
    _move(apps, "accounts.LoginSession", "sessions.Session", {v: k for k, v in BACKENDS.items()}, with_user=False)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_login_sessions"),
        ("sessions", "0001_initial"),
    ]

    operations = [migrations.RunPython(forward, backward)]
