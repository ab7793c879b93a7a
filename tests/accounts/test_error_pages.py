"""403 and 404 answer with helpful pages in the site's layout (issue 14, item 8), and the log-in
form asks for the pseudonym by the name sign-up gave it."""

from __future__ import annotations

from django.urls import reverse


def test_404_is_a_helpful_page_in_the_layout(client, participant):
    client.force_login(participant)
    response = client.get("/sessions/999999/")
    html = response.content.decode()
    assert response.status_code == 404 and 'data-testid="error-404"' in html
    assert 'class="site-header"' in html and 'aria-label="Main"' in html  # the site's layout and navigation
    assert "No such session." in html and reverse("listening:session-history") in html
    anonymous = client.__class__().get("/no-such-page/")
    assert anonymous.status_code == 404 and "Log in" in anonymous.content.decode()
    assert "Resolver404" not in anonymous.content.decode()


def test_403_says_why_and_where_to_go(client, participant):
    client.force_login(participant)
    response = client.get(reverse("therapy:therapist-clients"))
    html = response.content.decode()
    assert response.status_code == 403 and 'data-testid="error-403"' in html
    assert "This page is for therapists." in html and participant.username in html
    assert 'class="site-header"' in html and reverse("dashboard") in html


def test_login_form_says_pseudonym(client):
    html = client.get(reverse("account_login")).content.decode()
    assert '<label for="id_login">Pseudonym' in html and "Username" not in html
