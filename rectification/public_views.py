"""Published progress notices for the public, without login.
Design notes: docs/architecture/rectification.md."""

from __future__ import annotations

from collections import OrderedDict
from urllib.parse import quote

from django.core.files.base import ContentFile
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.views.decorators.http import require_GET

from . import notices
from .list_forms import PUBLIC_SORTS, PublicNoticeFilterForm
from .models import ProgressNotice


def _published(pk: int) -> ProgressNotice:
    notice = notices.published_notices().select_related("plan__organisation").filter(pk=pk).first()
    if notice is None:
        raise Http404("通报不存在或尚未公开。")
    return notice


@require_GET
def notice_list(request):
    """Latest published version of each plan's notice (newest first, or oldest), with its older versions.

    The search narrows the published versions (title, organisation); drafts are never read here."""
    form = PublicNoticeFilterForm(request.GET or None)
    sort = form.sort_key()
    rows = PUBLIC_SORTS.apply(form.search(notices.published_notices()).select_related("plan__organisation"), sort)
    plans: OrderedDict[int, dict] = OrderedDict()
    for notice in rows[:2000]:
        entry = plans.setdefault(notice.plan_id, {"latest": None, "older": []})
        if entry["latest"] is None or notice.version > entry["latest"].version:
            if entry["latest"] is not None:
                entry["older"].append(entry["latest"])
            entry["latest"] = notice
        else:
            entry["older"].append(notice)
    entries = sorted(plans.values(), key=lambda e: e["latest"].published_at, reverse=sort != "oldest")
    for entry in entries:
        entry["older"].sort(key=lambda n: n.version, reverse=True)
    return render(request, "rectification/public_list.html", {"entries": entries, "form": form})


@require_GET
def notice_page(request, pk: int):
    notice = _published(pk)
    versions = list(notices.published_notices().filter(plan_id=notice.plan_id).order_by("-version"))
    latest = versions[0]
    bar = render_to_string("rectification/public_bar.html", {"notice": notice, "latest": latest, "versions": versions})
    html = notice.html or notices.render_html(notice.content)
    html = html.replace("<body>", "<body>\n" + bar, 1)
    return HttpResponse(html, content_type="text/html; charset=utf-8")


@require_GET
def notice_pdf(request, pk: int):
    notice = _published(pk)
    name = notices.filename(notice.content or {"title": notice.title, "version": notice.version}, "pdf")
    try:
        handle = notice.pdf.open("rb") if notice.pdf else None
    except OSError:
        handle = None
    if handle is None:  # the file was lost from storage: the frozen content renders the same text
        handle = ContentFile(notices.render_pdf(notice.content))
    response = FileResponse(handle, content_type="application/pdf")
    response["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(name)}"
    return response
