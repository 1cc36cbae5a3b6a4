"""The extra fields a category asks for (路灯编号, 涉及户数…): checking submitted values and showing stored ones.

One function checks values from every input (the web report form, the REST API, Open311's
attribute[code]); the event keeps them as {code: value} in Event.attributes.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

from governance.input_rules import text_problem

from .category_catalogue import attributes_of
from .models import CategoryAttribute, Event, EventCategory

MAX_NUMBER = 10**9
DataType = CategoryAttribute.DataType


def _one(attribute: CategoryAttribute, raw) -> object:
    """The stored value of one submitted value; ValidationError with a Chinese message."""
    label = attribute.name
    if attribute.datatype == DataType.MULTI:
        values = [str(v).strip() for v in (raw if isinstance(raw, list | tuple) else [raw]) if str(v).strip()]
        unknown = [v for v in values if v not in attribute.options]
        if unknown:
            raise ValidationError(f"{label}：“{unknown[0]}”不是可选的值（可选：{'、'.join(attribute.options)}）。")
        return list(dict.fromkeys(values))
    if isinstance(raw, list | tuple):
        if len(raw) > 1:
            raise ValidationError(f"{label}：只能填一个值。")
        raw = raw[0] if raw else ""
    text = str(raw).strip()
    if attribute.datatype == DataType.NUMBER:
        if not text.lstrip("-").isdigit() or len(text) > 12:
            raise ValidationError(f"{label}须为整数。")
        number = int(text)
        if not 0 <= number <= MAX_NUMBER:
            raise ValidationError(f"{label}须为 0 到 {MAX_NUMBER} 之间的整数。")
        return number
    if attribute.datatype == DataType.DATETIME:
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise ValidationError(f"{label}须为日期时间，如 2026-03-01T09:30:00+08:00。") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return timezone.localtime(moment).isoformat(timespec="minutes")
    if attribute.datatype == DataType.SINGLE:
        if text not in attribute.options:
            raise ValidationError(f"{label}：“{text}”不是可选的值（可选：{'、'.join(attribute.options)}）。")
        return text
    long_text = attribute.datatype == DataType.TEXT
    problem = text_problem(text, long_text=long_text, max_length=2000 if long_text else 200)
    if problem:
        raise ValidationError(f"{label}：{problem}")
    return text


def _blank(raw) -> bool:
    if isinstance(raw, list | tuple):
        return not any(str(v).strip() for v in raw)
    return raw is None or str(raw).strip() == ""


def clean_attribute_values(category: EventCategory, submitted: dict) -> dict:
    """{code: value} for the category's fields from `submitted` ({code: text or list}); every problem at once.

    Codes the category does not have are refused, so that a mistyped code is not silently dropped."""
    attributes = attributes_of(category)
    known = {attribute.code for attribute in attributes}
    errors = [f"类别“{category.name}”没有附加字段“{code}”。" for code in submitted if code not in known]
    values: dict = {}
    for attribute in attributes:
        raw = submitted.get(attribute.code)
        if _blank(raw):
            if attribute.required:
                errors.append(f"请填写{attribute.name}。")
            continue
        try:
            values[attribute.code] = _one(attribute, raw)
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return values


def shown_attributes(event: Event) -> list[tuple[str, str]]:
    """(name, value as text) of the event's extra fields, in the category's order; fields since removed
    from the category are still shown, under their code."""
    stored = dict(event.attributes or {})
    rows = []
    for attribute in attributes_of(event.category):
        if attribute.code in stored:
            value = stored.pop(attribute.code)
            rows.append((attribute.name, "、".join(map(str, value)) if isinstance(value, list) else str(value)))
    rows += [(code, "、".join(map(str, v)) if isinstance(v, list) else str(v)) for code, v in stored.items()]
    return rows
