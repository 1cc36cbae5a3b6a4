from grid.models import Role


def test_every_role_key_of_the_design_exists(db):
    keys = set(Role.objects.values_list("key", flat=True))
    assert {
        "grid_member", "grid_leader", "grid_instructor", "village_cadre", "township_office", "department",
        "supervision_group", "township_committee", "county_office", "inspection_group", "leading_group", "discipline",
    } <= keys


def test_personas_fixture_builds(personas, county):
    assert personas["grid_member"].has_perm("grid.view_region", county.grid1)
    assert not personas["grid_member"].has_perm("grid.view_region", county.louxing)


def test_migrations_give_each_role_exactly_its_default_permissions(db):
    from grid.roles import default_permissions

    for role in Role.objects.prefetch_related("permissions__content_type"):
        granted = {f"{p.content_type.app_label}.{p.codename}" for p in role.permissions.all()}
        assert granted == default_permissions(role.key), role.key
