from django.apps import AppConfig


class GridConfig(AppConfig):
    name = "grid"
    verbose_name = "网格与区域"

    def ready(self):
        from governance import visibility

        from .access import RegionRule
        from .models import Event

        # Events (and their photos) are seen wherever grid.view_event is held.
        visibility.register(RegionRule(Event, "grid.view_event"))
