"""Health of the database, Redis and the Celery worker (owned by the ops helper; placeholder)."""

from django.http import JsonResponse


def healthz_view(request):
    return JsonResponse({"status": "ok"})
