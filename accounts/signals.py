"""Framework plumbing: keep the role groups' permissions in step with the models that exist, and
close a browser session's websockets when it logs out."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission

from accounts.sockets import sockets_close_for_session

# Researchers run catalogs, surveys and experiments from the admin; participants' sessions
# are theirs, so researchers may read (consenting people's) sessions but never change them.
RESEARCHER_APPS = ("recommender", "surveys", "experiments", "recruitment")
RESEARCHER_VIEW_ONLY_APPS = ("django_celery_beat", "listening")


def sync_group_permissions(sender=None, **kwargs) -> None:
    researchers = Group.objects.filter(name="researchers").first()
    if researchers is None:
        return
    full = Permission.objects.filter(content_type__app_label__in=RESEARCHER_APPS)
    view = Permission.objects.filter(
        content_type__app_label__in=RESEARCHER_VIEW_ONLY_APPS, codename__startswith="view_"
    )
    researchers.permissions.set(list(full) + list(view))


def close_sockets_on_logout(sender=None, request=None, **kwargs) -> None:

    session = getattr(request, "session", None)
    sockets_close_for_session(getattr(session, "session_key", None))
