from django.shortcuts import redirect
from django.views import View


class EventTaskRedirectView(View):
    """viewflow needs a view per human node; EventFlow's steps are taken on the event's own page."""

    def get(self, request, *args, process_pk=None, **kwargs):
        from .models import EventProcess

        process = EventProcess.objects.filter(pk=process_pk).first()
        if process is None or process.artifact_object_id is None:
            return redirect("/")
        return redirect(f"/grid/events/{process.artifact_object_id}/")

    post = get
