"""The region paths grid.models cuts from a materialised path agree with the tree as treebeard reads it."""

from grid.models import Region, parent_path, paths_from_root


def test_paths_from_root_and_parent_path_agree_with_the_tree(county):
    for region in Region.objects.all():
        ancestors = [ancestor.path for ancestor in Region.objects.get_ancestors(region)]
        assert paths_from_root(region.path) == [*ancestors, region.path]
        parent = Region.objects.get_parent(region)
        assert parent_path(region.path) == (parent.path if parent else "")


def test_the_root_has_no_parent_path(county):
    assert len(county.county.path) == Region.steplen
    assert parent_path(county.county.path) == ""
    assert paths_from_root(county.county.path) == [county.county.path]
