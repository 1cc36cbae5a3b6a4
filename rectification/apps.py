from django.apps import AppConfig


class RectificationConfig(AppConfig):
    name = "rectification"
    verbose_name = "整改"

    def ready(self):
        # Here, not at the top: both modules import models, importable only once the registry is ready.
        from inspection import feedback

        from .handover import hand_over

        feedback.use_handover(hand_over)
