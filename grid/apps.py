from django.apps import AppConfig


class GridConfig(AppConfig):
    name = "grid"
    verbose_name = "网格与区域"

    def ready(self):
        # Here, not at the top: grid.access imports the models, importable only once the registry is ready.
        from governance import audit

        from .access import broadest_post_path, region_path_of

        audit.use_regions(of_object=region_path_of, of_actor=broadest_post_path)

        # Deferred: these modules import models, importable only once the app registry is ready
        from governance import visibility

        from . import patrols
        from .access import RegionRule
        from .models import Event, Household, HouseholdVisit, PatrolLog, WorkDiary

        # Events (and their photos) are seen wherever grid.view_event is held; households and visits
        # (and the visits' photos) wherever their view permission is.
        visibility.register(RegionRule(Event, "grid.view_event"))
        visibility.register(RegionRule(Household, "grid.view_household"))
        visibility.register(RegionRule(HouseholdVisit, "grid.view_householdvisit"))
        # Patrol logs and diaries (content, review comments) by their pages' rule: the member's own and
        # those of the regions overseen, not every auditor of the region.
        visibility.register_records(PatrolLog, patrols.visible_patrols)
        visibility.register_records(WorkDiary, patrols.visible_diaries)

        from . import access_cache  # deferred: imports the models

        # A change to posts, roles, groups or grants moves the version of every user's cached access.
        access_cache.connect_signals()
        from .models import DiaryReviewRule

        access_cache.register_fact(patrols.REVIEW_RULES_FACT, lambda user: patrols.review_rules(), models=[DiaryReviewRule])
        access_cache.register_fact(patrols.POSTS_BY_ROLE_FACT, patrols.post_paths_by_role)  # posts are watched
