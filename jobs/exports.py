"""Large exports run as jobs: a list over settings.JOBS_EXPORT_THRESHOLD rows becomes a job; smaller
ones download at once. A job keeps only parameters, never a queryset: the task re-runs the owner's
scoped query, so the file holds exactly the rows that user may export (the apps' `job_kinds`).
"""

from __future__ import annotations

from django.conf import settings


def export_threshold() -> int:
    return getattr(settings, "JOBS_EXPORT_THRESHOLD", 2000)
