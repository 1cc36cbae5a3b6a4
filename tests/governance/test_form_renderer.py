"""Widgets rendered once per process for the same plain context (governance.form_renderer)."""

from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe

from governance.form_renderer import RememberingRenderer


class ChoiceForm(forms.Form):
    kind = forms.ChoiceField(choices=[("", "全部"), ("a", "甲"), ("b", "乙<丙>")], required=False)
    q = forms.CharField(required=False)


def render(form_data, renderer, choices=None):
    form = ChoiceForm(form_data, renderer=renderer)
    if choices is not None:
        form.fields["kind"].choices = choices
    return str(form["kind"]) + str(form["q"])


def test_a_remembered_widget_is_the_html_django_renders():
    remembering, plain = RememberingRenderer(), DjangoTemplates()
    for data in (None, {"kind": "a", "q": "路灯"}, {"kind": "b", "q": "<script>"}, None, {"kind": "a", "q": "路灯"}):
        assert render(data, remembering) == render(data, plain)
    assert len(remembering._html) == 6  # two widgets × three different states


def test_changed_choices_or_marked_safe_labels_are_not_taken_from_memory():
    remembering, plain = RememberingRenderer(), DjangoTemplates()
    render(None, remembering)
    new_choices = [("", "全部"), ("c", "丁")]
    assert render(None, remembering, new_choices) == render(None, plain, new_choices)
    assert "丁" in render(None, remembering, new_choices)
    # The same text, once plain and once marked safe, renders differently: never one for the other.
    escaped, safe = [("x", "<b>x</b>")], [("x", mark_safe("<b>x</b>"))]
    assert render(None, remembering, escaped) == render(None, plain, escaped)
    assert render(None, remembering, safe) == render(None, plain, safe)
    assert "<b>x</b>" in render(None, remembering, safe)
