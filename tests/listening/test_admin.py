from django.contrib.auth import get_user_model


def test_admin_lists_participant_codes_not_usernames(client, make_user, make_session):
    person = make_user(username="secret-pseudonym", research_data=True)
    s = make_session(person, events=[("started", 0)])
    admin = get_user_model().objects.create_superuser(username="root", password="x-very-long-pass-9")
    client.force_login(admin)
    listing = client.get("/admin/listening/listeningsession/").content.decode()
    assert person.participant_code in listing and "secret-pseudonym" not in listing
    page = client.get(f"/admin/listening/listeningsession/{s.pk}/change/")
    assert page.status_code == 200 and "secret-pseudonym" not in page.content.decode()
    assert client.get("/admin/listening/listeningsession/add/").status_code == 403
