"""Defect 2 of issue 13 (the parts a browser is not needed for): every page carries the
Content-Security-Policy, scripts only from our origin, no inline script anywhere in the
templates, and the one inline <style> we allow (matplotlib's SVG sheet) matches its hash.
The browser test (tests/e2e/test_csp.py) loads the pages in Chromium and counts violations."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from pathlib import Path

import pytest
from django.conf import settings

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/dashboard/", "/settings/", "/api/docs/", "/admin/"])
def test_pages_carry_a_policy_without_inline_scripts(client, researcher, url):
    client.force_login(researcher)
    response = client.get(url, follow=True)
    policy = _policy(response)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy["script-src"] and "'unsafe-eval'" not in policy["script-src"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["default-src"] == ["'self'"]


@pytest.mark.django_db
def test_swagger_init_script_is_a_file(client):
    page = client.get("/api/docs/")
    assert b"<script>" not in page.content and b"?script=" in page.content
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_no_template_has_an_inline_script_or_event_handler():
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script(?P<attrs>[^>]*)>", text):
            attrs = match.group("attrs")
            if "src=" not in attrs and 'type="application/json"' not in attrs:
                offenders.append(f"{path.relative_to(TEMPLATES)}: inline <script{attrs}>")
        offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+\s*=\s*[\"']", text)]
        offenders += [f"{path.relative_to(TEMPLATES)}: javascript: URL" for _ in re.finditer(r"javascript:", text)]
        if re.search(r"<style[\s>]", text):
            offenders.append(f"{path.relative_to(TEMPLATES)}: <style> element")
    assert offenders == []


def test_the_matplotlib_style_hash_matches_the_installed_matplotlib():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1], [0, 1])
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg")
    plt.close(fig)
    sheets = re.findall(r"<style[^>]*>(.*?)</style>", buffer.getvalue(), re.S)
    hashes = {"'sha256-" + base64.b64encode(hashlib.sha256(s.encode()).digest()).decode() + "'" for s in sheets}
    assert hashes == {settings.MATPLOTLIB_SVG_STYLE_HASH}
    assert settings.MATPLOTLIB_SVG_STYLE_HASH in settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]["style-src-elem"]
