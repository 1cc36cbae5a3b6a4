"""The event categories and their extra fields, kept per process.

The report form, its check and the case page read them on every request (four queries), while they
change a few times a year. They are read at most once per `CATEGORY_CACHE_SECONDS` per process; a
save or delete here drops the copy at once and again after the commit, so this process sees a change
immediately and the others within the interval.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete, post_save

from .models import CategoryAttribute, EventCategory


@dataclass(frozen=True)
class Catalogue:
    categories: dict[int, EventCategory]  # every category, its parent attached
    attributes: dict[int, list[CategoryAttribute]]  # category id → its fields in their order


class _CatalogueCache:
    def __init__(self):
        self._lock = threading.Lock()
        self._catalogue: Catalogue | None = None
        self._read_at = float("-inf")

    def get(self) -> Catalogue:
        now = time.monotonic()
        catalogue = self._catalogue
        if catalogue is None or now - self._read_at > getattr(settings, "CATEGORY_CACHE_SECONDS", 60):
            categories = {category.pk: category for category in EventCategory.objects.order_by("sort_order", "code")}
            for category in categories.values():
                if category.parent_id:
                    category.parent = categories[category.parent_id]
            attributes: dict[int, list[CategoryAttribute]] = {}
            for attribute in CategoryAttribute.objects.order_by("sort_order", "id"):
                attribute.category = categories[attribute.category_id]
                attributes.setdefault(attribute.category_id, []).append(attribute)
            catalogue = Catalogue(categories, attributes)
            with self._lock:
                self._catalogue, self._read_at = catalogue, now
        return catalogue

    def clear(self, **kwargs) -> None:
        with self._lock:
            self._catalogue = None

    def clear_now_and_after_commit(self, **kwargs) -> None:
        self.clear()
        transaction.on_commit(self.clear)


catalogue_cache = _CatalogueCache()
for _model in (EventCategory, CategoryAttribute):
    post_save.connect(catalogue_cache.clear_now_and_after_commit, sender=_model, weak=False,
                      dispatch_uid=f"gv_catalogue_save_{_model.__name__}")
    post_delete.connect(catalogue_cache.clear_now_and_after_commit, sender=_model, weak=False,
                        dispatch_uid=f"gv_catalogue_delete_{_model.__name__}")


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
