"""Pieces every flow here shares: the domain record behind a process, decision conditions, and the
view viewflow needs for a human node while the step itself is taken on the record's own page."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View


def artifact_of(process_or_activation):
    """The domain record (event, report, proposal, item) a process or activation is about."""
    process = getattr(process_or_activation, "process", process_or_activation)
    return process.artifact


def artifact_lookup(flow_class, artifact, prefix: str = "", *, model=None, object_id=None) -> dict:
    """ORM lookups of `artifact`'s process of `flow_class`, on viewflow's (content type, object id) index.

    Filtering on the object id alone cannot use that index: it scans every process row. Instead of an
    artifact, `model` and `object_id` may be given (an OuterRef("pk") in a subquery)."""
    return {
        f"{prefix}artifact_content_type": ContentType.objects.get_for_model(model or type(artifact)),  # cached
        f"{prefix}artifact_object_id": artifact.pk if artifact is not None else object_id,
        f"{prefix}flow_class": flow_class,
    }


def decided(*decisions):
    """A switch condition: the decision the service stored in the process data is one of these."""

    def condition(activation) -> bool:
        return (activation.process.data or {}).get("decision") in decisions

    return condition


def record_page_view(process_model, url_name: str) -> type[View]:
    """A view that sends viewflow's task URL to the record's own page, where the step is taken."""

    class RecordPageRedirectView(View):
        def get(self, request, *args, process_pk=None, **kwargs):
            process = process_model.objects.filter(pk=process_pk).first()
            if process is None or process.artifact_object_id is None:
                return redirect("/")
            return redirect(reverse(url_name, args=[process.artifact_object_id]))

        post = get

    RecordPageRedirectView.__name__ = f"{process_model.__name__}RedirectView"
    return RecordPageRedirectView
