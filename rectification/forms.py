"""Forms of the rectification pages. They decode input; the rules live in rectification.services."""

from __future__ import annotations

from django import forms

from .models import Accountability, NoticeTemplate, RectificationPlan


def _date(label: str, required: bool = True, **kwargs) -> forms.DateField:
    return forms.DateField(label=label, required=required,
                           widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"), **kwargs)


def _text(label: str, required: bool = True, rows: int = 3, **kwargs) -> forms.CharField:
    return forms.CharField(label=label, required=required, widget=forms.Textarea(attrs={"rows": rows}), **kwargs)


class PlanHeaderForm(forms.ModelForm):
    class Meta:
        model = RectificationPlan
        fields = ["title", "group_name", "inspected_from", "inspected_to", "feedback_on", "first_responsible",
                  "document_title", "document_number", "organisation_text", "next_plan", "contact"]
        widgets = {
            "inspected_from": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "inspected_to": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "feedback_on": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "organisation_text": forms.Textarea(attrs={"rows": 3}),
            "next_plan": forms.Textarea(attrs={"rows": 3}),
        }

    def validate_unique(self):  # the service decides; the plan's (organisation, round) never changes here
        pass


class MeetingForm(forms.Form):
    held_on = _date("会议日期")
    kind = forms.CharField(label="会议类型", max_length=50, help_text="如：党委会、专题民主生活会、专题组织生活会")
    topic = forms.CharField(label="议题", max_length=200)


class MeasureForm(forms.Form):
    name = forms.CharField(label="制度名称", max_length=200)
    adopted_on = _date("出台日期", required=False)


class RecoveryForm(forms.Form):
    amount = forms.DecimalField(label="金额（元）", max_digits=14, decimal_places=2, min_value=0)
    source = forms.CharField(label="事由", max_length=200)


class PetitionForm(forms.Form):
    summary = forms.CharField(label="信访事项", max_length=300)
    received_on = _date("转办日期", required=False)
    closed_on = _date("办结日期", required=False)


class AccountabilityForm(forms.Form):
    person = forms.CharField(label="姓名或职务", max_length=100)
    level = forms.ChoiceField(label="层级", choices=Accountability.Level.choices)
    measure = forms.ChoiceField(label="处理方式", choices=Accountability.Measure.choices)
    decided_on = _date("处理日期", required=False)
    item = forms.TypedChoiceField(label="涉及整改事项", required=False, coerce=int, empty_value=None)

    def __init__(self, *args, plan: RectificationPlan, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        self.fields["item"].choices = [("", "（不指定）")] + [
            (item.pk, f"{item.number}. {item.title[:30]}") for item in plan.items.all()]

    def clean_item(self):
        pk = self.cleaned_data.get("item")
        return self.plan.items.filter(pk=pk).first() if pk else None


class ItemForm(forms.Form):
    responsible_leader = forms.CharField(label="责任领导", max_length=100)
    responsible_unit = forms.CharField(label="责任单位", max_length=100)
    measures = _text("整改措施")
    deadline = _date("整改时限")
    result = _text("整改情况", required=False, help_text="通报中“整改情况”的文字")


class ProgressForm(forms.Form):
    reported_on = _date("进展日期")
    text = _text("进展情况")


class ClaimForm(forms.Form):
    text = _text("整改完成情况")
    long_term = forms.BooleanField(label="需长期坚持（长期坚持）", required=False)


class VerifyForm(forms.Form):
    decision = forms.ChoiceField(label="验收结果", choices=[("accept", "验收通过，予以销号"), ("return", "退回继续整改")],
                                 widget=forms.RadioSelect)
    reason = _text("验收意见或退回理由", required=False, rows=2)


class UnfinishedForm(forms.Form):
    unfinished_reason = _text("未完成原因", rows=2)
    next_steps = _text("下一步措施", rows=2)
    new_deadline = _date("新的整改时限")


class NoticeTemplateForm(forms.ModelForm):
    """A county's notice template: the plain fields, and one field per measure and per level for their wording."""

    class Meta:
        model = NoticeTemplate
        fields = ["title", "opening", "heading_organisation", "heading_problems", "heading_handling", "heading_people",
                  "heading_petitions", "heading_unfinished", "heading_next", "category_numbering",
                  "subheading_numbering", "problem_numbering", "unfinished_numbering", "next_plan", "closing"]
        widgets = {name: forms.Textarea(attrs={"rows": 3}) for name in ("opening", "next_plan", "closing")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for code, label in Accountability.Measure.choices:
            self.fields[f"measure__{code}"] = forms.CharField(
                label=f"处理方式“{label}”写作", required=False, max_length=50,
                initial=(self.instance.measure_names or {}).get(code, ""), help_text="留空则按原名称印出")
        for code, label in Accountability.Level.choices:
            self.fields[f"level__{code}"] = forms.CharField(
                label=f"层级“{label}”写作", required=False, max_length=50,
                initial=(self.instance.level_names or {}).get(code, ""), help_text="写法相同的层级合并计数")

    def template_values(self) -> dict:
        values = {name: self.cleaned_data[name] for name in self.Meta.fields}
        values["measure_names"] = {code: self.cleaned_data[f"measure__{code}"].strip()
                                   for code, _ in Accountability.Measure.choices if self.cleaned_data[f"measure__{code}"].strip()}
        values["level_names"] = {code: self.cleaned_data[f"level__{code}"].strip()
                                 for code, _ in Accountability.Level.choices if self.cleaned_data[f"level__{code}"].strip()}
        return values
