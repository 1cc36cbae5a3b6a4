"""Content-Security-Policy: scripts from this site only, so that injected markup cannot run."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/(?:ld\+)?json\")[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.I)


def policy(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_pages_carry_a_tight_policy(client, personas):
    client.force_login(personas["grid_member"])
    for url in ("/accounts/login/", reverse("grid:event_report"), "/inbox/"):
        rules = policy(client.get(url))
        assert rules["script-src"] == ["'self'"], url  # no inline scripts, no eval, no other origin
        assert rules["default-src"] == ["'self'"]
        assert rules["object-src"] == ["'none'"] and rules["frame-ancestors"] == ["'none'"]
        assert rules["base-uri"] == ["'self'"] and rules["form-action"] == ["'self'"]


def test_public_pages_and_downloads_are_covered_too(client):
    assert "script-src 'self'" in client.get("/public/notices/")["Content-Security-Policy"]


def test_no_template_has_an_inline_script_or_event_handler():
    """Under script-src 'self' an inline script would silently not run: keep them in static files."""
    offenders = []
    for path in TEMPLATES.rglob("*.html"):
        if "documents" in path.parts:
            continue  # rendered to PDF/DOCX by the server, never served to a browser
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER):
            offenders += [f"{path.relative_to(TEMPLATES)}: {m.group(0)[:60]}" for m in pattern.finditer(text)]
    assert not offenders, "\n".join(offenders)


def test_the_form_pages_load_their_behaviour_from_the_static_file(client, county, personas):
    client.force_login(personas["grid_member"])
    for url in (reverse("grid:event_report"), reverse("grid:diary_write"), reverse("grid:patrol_new")):
        html = client.get(url).content.decode()
        assert "/static/governance/forms.js" in html, url
        assert not INLINE_SCRIPT.search(html) and not INLINE_HANDLER.search(html), url
