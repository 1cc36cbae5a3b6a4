from django.contrib.auth.mixins import LoginRequiredMixin
from django.views.generic import TemplateView

from grid.access import scope

from ..models import CatalogItem, PatrolCategory, SupervisionGroup
from .list_forms import CatalogSearchForm


class PatrolCategoryListView(LoginRequiredMixin, TemplateView):
    template_name = "inspection/catalog.html"

    def get_context_data(self, **kwargs):
        categories = scope(self.request.user, PatrolCategory.objects.all(), "inspection.view_patrolcategory")
        categories = categories.select_related("township", "lead_department").order_by("township__path", "lead_department__name", "id")
        form = CatalogSearchForm(self.request.GET or None)
        items = scope(self.request.user, CatalogItem.objects.all(), "inspection.view_catalogitem")
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
