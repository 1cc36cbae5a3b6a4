"""Pages of inspection letters (巡察文书): list (overdue highlighted), issue form, detail with the reply
form, and PDF/DOCX downloads. Views decode input and call inspection.rounds.letters."""

from __future__ import annotations

from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from governance.listing import xlsx_export
from governance.paging import UncountedPage

from ..models import InspectionLetter
from . import letters, onsite
from .list_forms import LetterListForm
from .onsite_forms import LetterForm, ReplyForm

PAGE_SIZE = 50
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


def _errors(exc: Exception) -> list[str]:
    return list(exc.messages) if isinstance(exc, ValidationError) else [str(exc)]


def _letters_for(user):
    return letters.visible_letters(user).select_related(
        "round__county", "recipient__tier", "recipient_department", "issued_by")


def _letter_for(user, pk) -> InspectionLetter:
    letter = _letters_for(user).filter(pk=pk).first()
    if letter is None:
        raise Http404("文书不存在或无权查看。")
    return letter


def letters_for(user, params) -> tuple[LetterListForm, QuerySet[InspectionLetter]]:
    """The letters the list and its export show: visible_letters, filtered, searched, ordered."""
    if not (user.has_perm("inspection.view_inspectionletter") or onsite.groups_of(user).exists()):
        raise PermissionDenied("您没有查看巡察文书的权限。")
    form = LetterListForm(params or None, letters=letters.visible_letters(user))
    return form, form.apply(_letters_for(user))


class LetterListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/letter_list.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        form, rows = letters_for(user, self.request.GET)
        page = UncountedPage(rows, self.request.GET.get("page"), PAGE_SIZE)
        for letter in page:
            letter.recipient_label = letters.recipient_label(letter)
        return super().get_context_data(
            page_title="巡察文书", form=form, page=page, may_issue=user.has_perm("inspection.add_inspectionletter"),
            **kwargs,
        )


def _reply_state(letter: InspectionLetter) -> str:
    if letter.replied_on:
        return "已回复"
    if letter.reply_overdue:
        return "逾期未回复"
    return "待回复" if letter.reply_due else ""


class LetterExportView(LoginRequiredMixin, View):
    """The letters of the list (same filters, order, all pages) as an .xlsx ledger of letters."""

    HEADERS = ["文号", "类型", "轮次", "收文单位", "事由", "发文日期", "回复期限", "回复日期", "回复状态", "回复情况"]

    def get(self, request):
        _form, rows = letters_for(request.user, request.GET)
        lines = ([letter.number, letter.get_kind_display(), letter.round.name, letters.recipient_label(letter),
                  letter.subject, _day(letter.issued_on), _day(letter.reply_due), _day(letter.replied_on),
                  _reply_state(letter), letter.reply_summary] for letter in rows)
        return xlsx_export(about=InspectionLetter, rows=lines, headers=self.HEADERS, sheet_title="巡察文书", filename="巡察文书",
                           by=request.user, action="inspection.letter.export", query=request.GET.urlencode())


def _day(value) -> str:
    return f"{value:%Y-%m-%d}" if value else ""


class LetterCreateView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/letter_form.html"

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not request.user.has_perm("inspection.add_inspectionletter"):
            raise PermissionDenied("只有县委巡察办可以制发巡察文书。")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.render_to_response(self.get_context_data(form=LetterForm(user=request.user), page_title="制发巡察文书"))

    def post(self, request):
        form = LetterForm(request.POST, user=request.user)
        errors: list[str] = []
        if form.is_valid():
            data = form.cleaned_data
            try:
                letter = letters.issue_letter(
                    by=request.user, round=data["round"], kind=data["kind"], recipient=data["recipient"],
                    recipient_department=data["recipient_department"], subject=data["subject"],
                    body=data["body"] or None, reply_due=data["reply_due"],
                )
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, f"已制发 {letter.number}。")
                return redirect("inspection:letter_detail", pk=letter.pk)
        return self.render_to_response(self.get_context_data(form=form, errors=errors, page_title="制发巡察文书"), status=422)


class LetterDetailView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/letter_detail.html"

    def get_context_data(self, **kwargs):
        letter = kwargs.pop("letter", None) or _letter_for(self.request.user, self.kwargs["pk"])
        may_reply = letters.may_record_reply(self.request.user, letter) and not letter.replied_on
        return super().get_context_data(
            page_title=letter.number, letter=letter, data=letters.document_data(letter),
            recipient_label=letters.recipient_label(letter), overdue_days=letters.overdue_days(letter),
            may_reply=may_reply, reply_form=kwargs.pop("reply_form", None) or (ReplyForm() if may_reply else None),
            **kwargs,
        )


class LetterReplyView(LoginRequiredMixin, View):
    def get(self, request, pk):
        return redirect("inspection:letter_detail", pk=pk)

    def post(self, request, pk):
        letter = _letter_for(request.user, pk)  # outside what the user may see: 404
        if not letters.may_record_reply(request.user, letter):
            raise PermissionDenied("只有县委巡察办可以登记文书回复。")
        form = ReplyForm(request.POST)
        errors: list[str] = []
        if form.is_valid():
            try:
                letters.record_reply(letter, by=request.user, replied_on=form.cleaned_data["replied_on"],
                                     summary=form.cleaned_data["summary"])
            except ValidationError as exc:
                errors = _errors(exc)
            else:
                messages.success(request, "回复情况已登记。")
                return redirect("inspection:letter_detail", pk=pk)
        view = LetterDetailView(request=request, kwargs={"pk": pk})
        context = view.get_context_data(letter=letter, reply_form=form, errors=errors)
        return view.render_to_response(context, status=422)


class LetterDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk, fmt):
        if fmt not in CONTENT_TYPES:
            raise Http404("不支持的格式。")
        letter = _letter_for(request.user, pk)
        content = letters.render_pdf(letter) if fmt == "pdf" else letters.render_docx(letter)
        response = HttpResponse(content, content_type=CONTENT_TYPES[fmt])
        filename = f"{letter.number}.{fmt}"
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
        response["Cache-Control"] = "private, no-store"
        return response
