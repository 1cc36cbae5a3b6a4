"""The event categories and their extra fields, kept per process.

The report form, its check and the case page read them on every request (four queries), while they
change a few times a year. They are read at most once per `CATEGORY_CACHE_SECONDS` per process; a
save or delete here drops the copy at once and again after the commit, so this process sees a change
immediately and the others within the interval.
"""

from __future__ import annotations

from dataclasses import dataclass

from governance.process_cache import ProcessCache

from .models import CategoryAttribute, EventCategory


@dataclass(frozen=True)
class Catalogue:
    categories: dict[int, EventCategory]  # every category, its parent attached
    attributes: dict[int, list[CategoryAttribute]]  # category id → its fields in their order


def _read_catalogue() -> Catalogue:
    categories = {category.pk: category for category in EventCategory.objects.order_by("sort_order", "code")}
    for category in categories.values():
        if category.parent_id:
            category.parent = categories[category.parent_id]
    attributes: dict[int, list[CategoryAttribute]] = {}
    for attribute in CategoryAttribute.objects.order_by("sort_order", "id"):
        attribute.category = categories[attribute.category_id]
        attributes.setdefault(attribute.category_id, []).append(attribute)
    return Catalogue(categories, attributes)


catalogue_cache = ProcessCache(_read_catalogue, seconds_setting="CATEGORY_CACHE_SECONDS",
                               models=[EventCategory, CategoryAttribute])


def attributes_of(category: EventCategory) -> list[CategoryAttribute]:
    """The category's extra fields in their order."""
    return list(catalogue_cache.get().attributes.get(category.pk, []))


def active_attributes() -> list[CategoryAttribute]:
    """The fields of every active category, by category order then field order (the report form's)."""
    catalogue = catalogue_cache.get()
    rows = [a for fields in catalogue.attributes.values() for a in fields if a.category.is_active]
    return sorted(rows, key=lambda a: (a.category.sort_order, a.sort_order, a.pk))


def active_categories() -> list[EventCategory]:
    """Active categories ordered as the report form groups them (parent order, then their own)."""
    catalogue = catalogue_cache.get()
    rows = [c for c in catalogue.categories.values() if c.is_active]
    return sorted(rows, key=lambda c: (c.parent.sort_order if c.parent_id else -1, c.sort_order, c.code))
