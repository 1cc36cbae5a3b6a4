"""Events keep the deadline of their open step (step_due_at) instead of a stored overdue flag: whether an
event is overdue is computed from it and the clock (grid.models.overdue_q)."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery

OPEN_STATUSES = ("reported", "handling", "dispatched", "verifying")


def copy_open_deadlines(apps, schema_editor):
    """Each open event's step_due_at from the open deadline of its EventFlow task (the newest if several)."""
    Event = apps.get_model("grid", "Event")
    TaskDeadline = apps.get_model("workflows", "TaskDeadline")
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type = ContentType.objects.filter(app_label="grid", model="event").first()
    if content_type is None:
        return
    due = (TaskDeadline.objects.filter(is_open=True, task__process__artifact_content_type=content_type,
                                       task__process__artifact_object_id=OuterRef("pk"))
           .order_by("-id").values("due_at")[:1])
    Event.objects.filter(status__in=OPEN_STATUSES).update(step_due_at=Subquery(due))


class Migration(migrations.Migration):

    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("grid", "0015_event_month_counts"),
        ("workflows", "0008_holiday_source"),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="step_due_at",
            field=models.DateTimeField(
                blank=True, db_index=True, null=True, verbose_name="当前环节办理时限",
                help_text="当前待办环节的截止时间（与该环节的任务时限一致）；是否超期由它和当前时间算出（grid.models.overdue_q）"),
        ),
        migrations.RunPython(copy_open_deadlines, migrations.RunPython.noop),
        migrations.RemoveField(model_name="event", name="is_overdue"),
    ]
