"""Forms of the household register and visit pages. They decode input; the rules live in grid.households."""

from __future__ import annotations

from django import forms
from django.db.models import Q
from django.utils import timezone

from . import households

DATE_WIDGET = {"type": "date"}


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput(attrs={"accept": "image/*"}))
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if isinstance(data, (list, tuple)):
            return [super(PhotosField, self).clean(item, initial) for item in data if item]
        return [super().clean(data, initial)] if data else []


class HouseholdForm(forms.Form):
    region = forms.TypedChoiceField(label="所在网格", coerce=int)
    head_name = forms.CharField(label="户主", max_length=50)
    address = forms.CharField(label="住址", max_length=200)
    is_hardship = forms.BooleanField(label="困难户（生活困难、空巢老人、残疾、留守儿童等）", required=False)
    is_key = forms.BooleanField(label="重点户（重点人员、特殊人群、流动人口等）", required=False)
    registered_on = forms.DateField(label="登记日期", widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    note = forms.CharField(label="备注", max_length=200, required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.regions = {region.pk: region for region in households.register_regions(user)}
        self.fields["region"].choices = [(pk, region.full_path) for pk, region in self.regions.items()]
        self.fields["registered_on"].initial = timezone.localdate()
        self.fields["registered_on"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean_region(self):
        return self.regions[self.cleaned_data["region"]]


class HouseholdChangeForm(forms.Form):
    is_hardship = forms.BooleanField(label="困难户", required=False)
    is_key = forms.BooleanField(label="重点户", required=False)
    left_on = forms.DateField(label="迁出日期", required=False, help_text="自该日起不再计入走访",
                              widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    note = forms.CharField(label="备注", max_length=200, required=False)


class VisitForm(forms.Form):
    date = forms.DateField(label="走访日期", widget=forms.DateInput(attrs=DATE_WIDGET, format="%Y-%m-%d"))
    note = forms.CharField(label="走访情况", widget=forms.Textarea(attrs={
        "rows": 3, "placeholder": "家庭近况、困难诉求、宣传政策、发现的隐患；无异常请注明"}))
    photos = PhotosField(label="照片（可选）", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].initial = timezone.localdate()


class HouseholdFilterForm(forms.Form):
    category = forms.ChoiceField(label="类别", required=False, choices=[
        ("", "全部"), ("hardship", "困难户"), ("key", "重点户")])
    q = forms.CharField(label="户主或住址", required=False, max_length=50)

    def apply(self, queryset):
        if not self.is_valid():
            return queryset
        category, text = self.cleaned_data["category"], self.cleaned_data["q"].strip()
        if category == "hardship":
            queryset = queryset.filter(is_hardship=True)
        elif category == "key":
            queryset = queryset.filter(is_key=True)
        if text:
            queryset = queryset.filter(Q(head_name__contains=text) | Q(address__contains=text))
        return queryset
