"""Pages of the organisation: the region tree, departments and posts (系统管理)."""

from governance.placeholder import ComingPageView


class RegionTreeView(ComingPageView):
    page_title = "区域与网格"


class RegionDetailView(ComingPageView):
    page_title = "区域"


class PostListView(ComingPageView):
    page_title = "岗位与人员"
