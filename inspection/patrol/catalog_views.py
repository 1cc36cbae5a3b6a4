from django.contrib.auth.mixins import LoginRequiredMixin
from django.db.models import Q
from django.views.generic import TemplateView

from grid.access import scope
from grid.models import parent_path

from ..models import CatalogItem, PatrolCategory, SupervisionGroup
from .list_forms import CatalogSearchForm, villages_for


def _with_township_rows(user, model, perm: str):
    """Rows of `model` in the user's regions, plus those of the townships above the user's villages."""
    townships = {parent_path(village.path) for village in villages_for(user, perm)}
    return model.objects.filter(Q(pk__in=scope(user, model.objects.all(), perm).values("pk"))
                                | Q(township__path__in=townships))


class PatrolCategoryListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/catalog.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        # A village's patrol works to its township's catalog: a village post sees its township's categories
        # and items, as its report form lists them (catalog_items_for).
        categories = _with_township_rows(user, PatrolCategory, "inspection.view_patrolcategory")
        categories = categories.select_related("township", "lead_department").order_by("township__path", "lead_department__name", "id")
        form = CatalogSearchForm(self.request.GET or None)
        items = _with_township_rows(user, CatalogItem, "inspection.view_catalogitem")
        items = form.apply(items.select_related("township", "category", "lead_department")).order_by("township__path", "code")
        return super().get_context_data(
            page_title="巡查目录", categories=categories, items=items, form=form,
            may_edit=self.request.user.is_staff and self.request.user.has_perm("inspection.change_catalogitem"),
            **kwargs,
        )


class SupervisionGroupListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/groups.html"

    def get_context_data(self, **kwargs):
        groups = scope(self.request.user, SupervisionGroup.objects.all(), "inspection.view_supervisiongroup")
        groups = groups.select_related("township").prefetch_related("villages", "members").order_by("township__path", "number")
        return super().get_context_data(page_title="巡查督查组", groups=groups, **kwargs)
