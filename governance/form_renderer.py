"""Django's form renderer, remembering the HTML of widgets it has rendered before.

A widget's template sees nothing but the context the widget builds (its name, value, attributes and,
for a drop-down, every option), so the same context always gives the same HTML. The filter bars and
report forms render the same drop-downs on every page, an option at a time through two templates
(a fifth of a list page's CPU); here a widget whose context is made of plain values (str, int, bool,
None, and lists, tuples and dicts of them) is rendered once per process and language and then
reused. Anything else in the context (a lazy translation, a model instance, marked-safe text) is
rendered as usual, every time. Set FORM_RENDERER = "governance.form_renderer.RememberingRenderer".
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.forms.renderers import DjangoTemplates
from django.utils.translation import get_language

MAX_ENTRIES = 2000
_PLAIN = (str, int, bool, float, type(None))


class _NotPlain(Exception):
    pass


def fingerprint(value):
    """A hashable key equal for two values only if they are equal plain data of the same types."""
    kind = type(value)
    if kind in _PLAIN:
        return kind.__name__, value
    if kind is dict:
        return "dict", tuple((key, fingerprint(item)) for key, item in value.items())
    if kind is list or kind is tuple:
        return kind.__name__, tuple(fingerprint(item) for item in value)
    raise _NotPlain


class RememberingRenderer(DjangoTemplates):
    def __init__(self):
        super().__init__()
        self._html: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def render(self, template_name, context, request=None):
        if request is not None or "widget" not in context:
            return super().render(template_name, context, request=request)
        try:
            key = (template_name, get_language(), fingerprint(context))
        except _NotPlain:
            return super().render(template_name, context, request=request)
        with self._lock:
            html = self._html.get(key)
            if html is not None:
                self._html.move_to_end(key)
                return html
        html = super().render(template_name, context, request=request)
        with self._lock:
            self._html[key] = html
            while len(self._html) > MAX_ENTRIES:
                self._html.popitem(last=False)
        return html
