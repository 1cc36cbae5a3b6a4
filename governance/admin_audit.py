"""Admin mixins: every change made in the Django admin is audited; some models are view-only there.
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import get_permission_codename
from django.contrib.auth.backends import ModelBackend
from django.db import models, transaction

from governance import audit


def admin_action(model: type[models.Model], verb: str) -> str:
    """The audit action of an admin change, e.g. "admin.cadencerule.change"."""
    return f"admin.{model._meta.model_name}.{verb}"


def changed_only(before: dict, after: dict) -> tuple[dict, dict]:
    """The two snapshots restricted to the fields whose value differs."""
    keys = sorted(key for key in set(before) | set(after) if before.get(key) != after.get(key))
    return {key: before.get(key) for key in keys}, {key: after.get(key) for key in keys}


def has_county_wide_perm(user, perm: str) -> bool:
    """A permission held for the whole system: superuser, or given to the user or a group directly.

    A post's region grants (grid.access) do not count: the admin lists and edits every row of the
    county without scoping, so a township office's `grid.change_post` on its own subtree must not
    open the admin's post pages for other townships.
    """
    return user.is_active and (user.is_superuser or ModelBackend().has_perm(user, perm))


class CountyWidePermissionsMixin:
    """Admin permission checks that ignore region-scoped grants (see `has_county_wide_perm`)."""

    def _has_county_wide(self, request, action: str) -> bool:
        opts = self.opts
        return has_county_wide_perm(request.user, f"{opts.app_label}.{get_permission_codename(action, opts)}")

    def has_view_permission(self, request, obj=None):
        return self._has_county_wide(request, "view") or self._has_county_wide(request, "change")

    def has_add_permission(self, request, *args):
        return self._has_county_wide(request, "add")

    def has_change_permission(self, request, obj=None):
        return self._has_county_wide(request, "change")

    def has_delete_permission(self, request, obj=None):
        return self._has_county_wide(request, "delete")


class AuditedAdminMixin(CountyWidePermissionsMixin):
    """Writes `admin.<model>.create/change/delete` audit rows with before/after snapshots.

    The "after" snapshot is taken in `save_related()`, after the many-to-many fields are saved,
    so that a role's permissions are part of the record. `audit_fields` limits the snapshot
    (default: every editable field of the model).
    """

    audit_fields: list[str] | None = None

    def audit_snapshot(self, obj: models.Model) -> dict:
        return audit.snapshot(obj, self.audit_fields)

    def save_model(self, request, obj, form, change):
        with transaction.atomic():
            # The form has already written its values onto `obj`: read the stored state instead.
            stored = self.model._default_manager.filter(pk=obj.pk).first() if change and obj.pk else None
            request._admin_audit_before = self.audit_snapshot(stored) if stored is not None else None
            super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        with transaction.atomic():
            super().save_related(request, form, formsets, change)
            obj = form.instance
            before = getattr(request, "_admin_audit_before", None)
            after = self.audit_snapshot(obj)
            if change and before is not None:
                before, after = changed_only(before, after)
                if not after and not before:
                    return  # saved without changes: nothing to record
                audit.record(admin_action(self.model, "change"), actor=request.user, obj=obj, before=before, after=after)
            else:
                audit.record(admin_action(self.model, "create"), actor=request.user, obj=obj, after=after)

    def delete_model(self, request, obj):
        with transaction.atomic():
            audit.record(admin_action(self.model, "delete"), actor=request.user, obj=obj, before=self.audit_snapshot(obj))
            super().delete_model(request, obj)

    def delete_queryset(self, request, queryset):
        with transaction.atomic():
            for obj in queryset:
                audit.record(
                    admin_action(self.model, "delete"), actor=request.user, obj=obj, before=self.audit_snapshot(obj)
                )
            super().delete_queryset(request, queryset)


class ReadOnlyAdminMixin(CountyWidePermissionsMixin):
    """View only: records written by services and flows (events, the audit trail, attachments…)."""

    actions = None

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditedModelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """A plain editable admin whose every change is audited."""
