"""One visibility rule per kind of record, asked wherever the record's data shows outside its own pages.

A record's own pages fetch it through its app's rule (``visible_findings(user)``, ``scope(user, …)``).
Its data also shows elsewhere: in the audit log (its page, export and search, and a region's latest
entries) and through the generic evidence route (/evidence/<id>/). Those places are in this core
package and know no app, so each app registers, in its ``AppConfig.ready()``, the rule of each kind
of record it owns; the audit log and the evidence route then ask the registry.

A rule answers two questions for a user:
- ``records(user)``: the records of its model the user may see (a queryset);
- ``audit_condition(user)``: a condition on AuditEntry rows of that model, true for the entries of
  records the user may see, evaluated by the database (no query per entry).

Kinds with no registered rule keep the region scope of the place that shows them (the audit log's
own region grant; the evidence route's ``view_<model>`` permission on the owner).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from django.db.models import CharField, Model, Q, QuerySet
from django.db.models.functions import Cast


class VisibilityRule(Protocol):
    model: type[Model]

    def records(self, user) -> QuerySet: ...

    def audit_condition(self, user) -> Q: ...


class RecordRule:
    """A rule given as a function from a user to the visible records (any condition, however narrow).

    In the audit log an entry of such a record is shown when the record's id is among the visible
    ones: one subquery per kind, whatever the page size."""

    def __init__(self, model: type[Model], records: Callable[[object], QuerySet],
                 audit_records: Callable[[object], QuerySet] | None = None):
        self.model = model
        self._records = records
        # Whose audit entries the user reads, when narrower than the records: an entry holds every
        # field and names who wrote it, which a reader shown only part of the record must not see.
        self._audit_records = audit_records or records

    def records(self, user) -> QuerySet:
        return self._records(user)

    def audit_condition(self, user) -> Q:
        # AuditEntry.object_id is text: compare it with the ids as text on every database.
        visible_ids = self._audit_records(user).order_by().annotate(
            _audit_object_id=Cast("pk", CharField())).values("_audit_object_id")
        # An entry filed under the kind without a record (an export of its list: how many rows, which
        # filters and search words) tells of records the rule chose for its actor alone: the actor's.
        return Q(object_id__in=visible_ids) | Q(object_id="", actor_id=user.pk)


_RULES: dict[str, VisibilityRule] = {}


def register(rule: VisibilityRule) -> None:
    """Declare the visibility rule of `rule.model`, from the app that owns the model (its
    ``AppConfig.ready()``; a repeated ready() replaces the rule with its equal)."""
    _RULES[rule.model._meta.label] = rule


def register_records(model: type[Model], records: Callable[[object], QuerySet],
                     audit_records: Callable[[object], QuerySet] | None = None) -> None:
    """Shorthand: register a RecordRule for `model` (`audit_records`: see RecordRule)."""
    register(RecordRule(model, records, audit_records))


def rule_for(model_or_label) -> VisibilityRule | None:
    label = model_or_label if isinstance(model_or_label, str) else model_or_label._meta.label
    return _RULES.get(label)


def registered_labels() -> list[str]:
    return sorted(_RULES)


def _active(user) -> bool:
    return user is not None and getattr(user, "is_authenticated", False) and user.is_active


def may_see(user, obj: Model) -> bool | None:
    """Whether `user` may see `obj` by its kind's own rule; None when its kind has no registered rule."""
    rule = rule_for(type(obj))
    if rule is None:
        return None
    return _active(user) and rule.records(user).filter(pk=obj.pk).exists()


def audit_entries_visible(user, entries: QuerySet) -> QuerySet:
    """Keep the audit entries whose record the user may see by its own rule (entries of kinds without
    a rule, and entries about no record, pass unchanged: the caller has applied the region scope).

    A constant number of queries however many entries: each rule is one condition of the SQL."""
    if not _RULES:
        return entries
    if not _active(user):
        return entries.none()
    condition = ~Q(object_type__in=list(_RULES))
    for label, rule in _RULES.items():
        condition |= Q(object_type=label) & rule.audit_condition(user)
    return entries.filter(condition)
