"""Site-wide pages: the home page (工作台) and the notification inbox."""


from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.paginator import Paginator
from django.shortcuts import redirect
from django.views.generic import TemplateView

from grid.models import Post

from .capabilities import capabilities_of


class HomeView(LoginRequiredMixin, TemplateView):
    template_name = "governance/home.html"

    def get_context_data(self, **kwargs):
        user = self.request.user
        posts = Post.objects.filter(user=user).select_related("role", "region", "department").order_by("-start_date")
        return super().get_context_data(
            page_title="工作台",
            active_posts=[post for post in posts if post.is_active],
            past_posts=[post for post in posts if not post.is_active],
            capabilities=capabilities_of(user),
            recent_notifications=user.notifications.filter(read_at__isnull=True)[:5],
            **kwargs,
        )


class InboxView(LoginRequiredMixin, TemplateView):
    template_name = "governance/inbox.html"

    def get_context_data(self, **kwargs):
        from .notifications import inbox_for

        notifications = inbox_for(self.request.user)
        if self.request.GET.get("unread"):
            notifications = notifications.filter(read_at__isnull=True)
        page = Paginator(notifications, 30).get_page(self.request.GET.get("page"))
        return super().get_context_data(page_title="消息", page=page, **kwargs)

    def post(self, request, *args, **kwargs):
        from .notifications import mark_read

        ids = [int(pk) for pk in request.POST.getlist("ids") if pk.isdigit()] or None
        count = mark_read(request.user, ids=ids)
        messages.success(request, f"已将 {count} 条消息标记为已读。")
        return redirect("inbox")


def evidence_file(request, pk: int, thumbnail: bool = False):
    """Serve an attachment to a user who may view the record it belongs to (404 otherwise)."""
    from django.http import Http404

    from .evidence import attachment_response
    from .models import Attachment

    if not request.user.is_authenticated:
        return redirect(f"/accounts/login/?next={request.path}")
    attachment = Attachment.objects.select_related("owner_type").filter(pk=pk).first()
    if attachment is None:
        raise Http404("附件不存在。")
    model = attachment.owner_type.model_class()
    owner = model._default_manager.filter(pk=attachment.owner_id).first() if model else None
    perm = f"{attachment.owner_type.app_label}.view_{attachment.owner_type.model}"
    if owner is None or not request.user.has_perm(perm, owner):
        raise Http404("附件不存在或无权查看。")
    return attachment_response(attachment, thumbnail=thumbnail)
