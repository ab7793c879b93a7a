"""Issue 14, item 5 and the demo: a client whose last therapist link ends is back in personal
use; finished assignments cannot be cancelled and show no Cancel; the demo therapist has a
linked demo client with shared sessions and a done assignment."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.models import Mode
from studies.listening.models import ListeningSession
from therapy import assignments, links
from therapy.models import Assignment, AssignmentStatus


def test_ending_the_last_link_returns_the_client_to_personal_use(client, make_user):
    alice, bob = make_user("therapist", username="t-alice"), make_user("therapist", username="t-bob")
    person = make_user(username="person-x")
    one = links.invite_accept(client=person, code=links.invite_create(therapist=alice).code)
    two = links.invite_accept(client=person, code=links.invite_create(therapist=bob).code)
    person.refresh_from_db()
    assert person.mode == Mode.THERAPY
    links.link_end(user=alice, link_id=one.pk)  # still linked to bob: still in therapy
    person.refresh_from_db()
    assert person.mode == Mode.THERAPY
    client.force_login(person)
    response = client.post(reverse("therapy:my-therapist"), {"action": "end", "link": str(two.pk)}, follow=True)
    person.refresh_from_db()
    assert person.mode == Mode.PERSONAL and "back in personal use" in response.content.decode()
    dashboard = client.get(reverse("dashboard")).content.decode()
    assert "Therapy (with a therapist)" not in dashboard and "Personal use" in dashboard


def test_demo_client_has_shared_sessions_a_done_and_an_open_assignment(make_user, catalog, settings):
    from therapy.demo import demo_step as therapy_demo_step

    assert "no demo-therapist" in therapy_demo_step()
    therapist = make_user("therapist", username="demo-therapist")
    message = therapy_demo_step()
    assert "demo-client" in message and "one assignment done" in message
    sessions = ListeningSession.objects.filter(user__username="demo-client")
    assert sessions.count() == 2 and set(sessions.values_list("status", flat=True)) == {"completed"}
    statuses = sorted(Assignment.objects.filter(therapist=therapist).values_list("status", flat=True))
    assert statuses == [AssignmentStatus.DONE, AssignmentStatus.PENDING]
    assert "already" in therapy_demo_step()

    # the therapist's client page shows the outcomes, and the done assignment has no Cancel
    from django.test import Client

    web = Client()
    web.force_login(therapist)
    from therapy.selectors import clients_of

    link = clients_of(therapist=therapist).get()
    html = web.get(reverse("therapy:therapist-client", args=[link.pk])).content.decode()
    done = Assignment.objects.get(therapist=therapist, status=AssignmentStatus.DONE)
    pending = Assignment.objects.get(therapist=therapist, status=AssignmentStatus.PENDING)
    assert f'data-testid="cancel-{done.pk}"' not in html and f'data-testid="cancel-{pending.pk}"' in html
    assert "Much calmer" in html and 'data-testid="sharing-on"' in html
    with pytest.raises(ValidationError, match="finished"):
        assignments.assignment_cancel(therapist=therapist, assignment_id=done.pk)
    response = web.post(reverse("therapy:assignment-cancel", args=[done.pk]), follow=True)
    done.refresh_from_db()
    assert done.status == AssignmentStatus.DONE and "nothing left to cancel" in response.content.decode()
