"""The bad-input battery for forms and uploads (issue 13): every form on every page a role can
open (the app's pages and the admin's add forms) is posted with hostile values in every field,
and every file field gets hostile files. No answer may be a server error."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.accounts.test_authorization_walk import all_routes

HOSTILE_VALUES = {
    "huge int": "9" * 40,
    "negative": "-1",
    "NaN": "NaN",
    "1e999": "1e999",
    "controls": "\u0000\u202e\u200b",
    "long": "x" * 20_000,
    "markup": "<script>alert(1)</script>",
    "json": '{"a": [1, {"b": null}]}',
    "empty": "",
}


def _zip_bomb_ish() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("StreamingHistory0.json", "[" + ",".join(["{}"] * 50_000) + "]")
        archive.writestr("../../escape.json", "[]")
    return buffer.getvalue()


HOSTILE_FILES = {
    "html": ("page.json", b"<html><script>alert(1)</script></html>"),
    "nested json": ("nested.json", b"[" * 5000 + b"]" * 5000),
    "binary": ("blob.csv", bytes(range(256)) * 20),
    "zip": ("history.zip", _zip_bomb_ish()),
    "empty": ("empty.json", b""),
}


def _forms(html: str) -> list[tuple[str, list[str], list[str]]]:
    """(action, field names, file field names) of each POST form on the page."""
    found = []
    for match in re.finditer(r"<form\b([^>]*)>(.*?)</form>", html, re.S | re.I):
        attrs, inner = match.group(1), match.group(2)
        if 'method="post"' not in attrs.lower():
            continue
        action = re.search(r'action="([^"]*)"', attrs)
        names = re.findall(r'<(?:input|select|textarea)\b[^>]*\bname="([^"]+)"', inner)
        files = re.findall(r'<input\b[^>]*type="file"[^>]*\bname="([^"]+)"', inner)
        found.append((action.group(1) if action and action.group(1) else "", [n for n in names if n != "csrfmiddlewaretoken"], files))
    return found


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["participant", "therapist", "researcher"])
def test_every_form_survives_hostile_values_and_files(client, make_user, catalog, role, suite_report):
    user = make_user(role, username=f"form-{role}", research_data=True)
    client.force_login(user)
    pages = ["/" + r for r in all_routes() if "<" not in r and "(?P" not in r
             and not r.startswith(("api/", "accounts/logout", "settings/delete"))]
    pages += [f"/admin/{r.split('admin/')[1]}" for r in all_routes() if r.startswith("admin/") and r.endswith("/add/")
              and "<" not in r]
    failures, posts, forms_seen = [], 0, 0
    for page in sorted(set(pages)):
        answer = client.get(page)
        if answer.status_code != 200 or "text/html" not in answer.get("Content-Type", ""):
            continue
        for action, names, files in _forms(answer.content.decode(errors="replace")):
            if not names or "logout" in action:
                continue
            forms_seen += 1
            target = action or page
            for label, value in HOSTILE_VALUES.items():
                data = {name: value for name in names if name not in files}
                response = client.post(target, data)
                posts += 1
                if response.status_code >= 500:
                    failures.append(f"POST {target} [{label}] -> {response.status_code}")
            for label, (filename, content) in HOSTILE_FILES.items():
                data = {name: "1" for name in names if name not in files}
                data.update({name: SimpleUploadedFile(filename, content) for name in files})
                if files:
                    response = client.post(target, data)
                    posts += 1
                    if response.status_code >= 500:
                        failures.append(f"POST {target} file [{label}] -> {response.status_code}")
    suite_report(f"form battery as {role}: {forms_seen} forms, {posts} posts, {len(failures)} server errors")
    assert forms_seen >= 3 and failures == []
