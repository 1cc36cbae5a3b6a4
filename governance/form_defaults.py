"""How every drop-down of the site starts: "请选择" instead of Django's "---------".

`install()` (called once from the core app's ready()) changes the two places Django takes the dash
line from, so no form can forget it:

- `ModelChoiceField`'s default `empty_label` (a form's own `empty_label`, such as "全部", still wins);
- `BLANK_CHOICE_DASH`, the blank choice a model field with `choices` (and a foreign key) offers in a
  model form and in the admin.

django-filter's filter forms take theirs from the `FILTERS_EMPTY_CHOICE_LABEL` setting (set beside the
other settings to the same words).

`attach_errors` is the one way a service's refusal reaches the form the user filled in.
"""

from __future__ import annotations

from django import forms
from django.db.models import fields as model_fields

BLANK_LABEL = "请选择"
_DJANGO_DASH = "---------"

_installed = False


def install() -> None:
    global _installed
    if _installed:
        return
    _installed = True

    # Field.get_choices() and the model form fields hold this very list as their default: change it in place.
    model_fields.BLANK_CHOICE_DASH[:] = [("", BLANK_LABEL)]

    model_choice_init = forms.ModelChoiceField.__init__

    def __init__(self, queryset, *, empty_label=BLANK_LABEL, **kwargs):
        if empty_label == _DJANGO_DASH:  # passed along by code that copies Django's default
            empty_label = BLANK_LABEL
        model_choice_init(self, queryset, empty_label=empty_label, **kwargs)

    forms.ModelChoiceField.__init__ = __init__


def attach_errors(form, exc) -> None:
    """Put a service's ValidationError beside the form's fields (or on top when the field is not on
    the form), so the page shows the service's Chinese message where the user typed."""
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)
