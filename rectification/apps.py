from django.apps import AppConfig


class RectificationConfig(AppConfig):
    name = "rectification"
    verbose_name = "整改"

    def ready(self):
        # Here, not at the top: both modules import models, importable only once the registry is ready.
        from inspection.rounds import feedback

        from .handover import hand_over

        feedback.use_handover(hand_over)

        # Deferred: these modules import models, importable only once the app registry is ready
        from governance import visibility
        from grid.access import RegionRule

        from .models import (
            Accountability,
            ProgressEntry,
            ProgressNotice,
            RectificationItem,
            RectificationPlan,
        )
        from .services import VIEW_ACCOUNTABILITY, visible_notices, visible_progress

        # Each kind's own rule, asked by the audit log and the evidence route as by the kind's pages.
        visibility.register(RegionRule(RectificationPlan, "rectification.view_rectificationplan"))
        visibility.register(RegionRule(RectificationItem, "rectification.view_rectificationitem"))
        # Who was held accountable: not every reader of the plan (the plan page asks the same permission).
        visibility.register(RegionRule(Accountability, VIEW_ACCOUNTABILITY))
        visibility.register_records(ProgressEntry, visible_progress)
        visibility.register_records(ProgressNotice, visible_notices)
