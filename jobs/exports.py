"""Large exports run as jobs: the size above which an app's export goes to the background.
Design notes: docs/architecture/jobs.md."""

from __future__ import annotations

from django.conf import settings


def export_threshold() -> int:
    return getattr(settings, "JOBS_EXPORT_THRESHOLD", 2000)
