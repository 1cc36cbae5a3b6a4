"""Pages without a total count (as the UI's lists): one query of page size + 1 tells whether there is more."""

from __future__ import annotations

from rest_framework.exceptions import NotFound
from rest_framework.pagination import BasePagination
from rest_framework.response import Response
from rest_framework.utils.urls import remove_query_param, replace_query_param

MAX_PAGE = 10_000


class UncountedPagination(BasePagination):
    page_size = 50
    max_page_size = 200

    def paginate_queryset(self, queryset, request, view=None):
        self.request = request
        try:
            self.page = int(request.query_params.get("page") or 1)
        except ValueError:
            raise NotFound("页码无效。") from None
        if not 1 <= self.page <= MAX_PAGE:
            raise NotFound("页码无效。")
        try:
            size = int(request.query_params.get("page_size") or self.page_size)
        except ValueError:
            size = self.page_size
        self.size = max(1, min(size, self.max_page_size))
        start = (self.page - 1) * self.size
        rows = list(queryset[start:start + self.size + 1])
        self.has_next = len(rows) > self.size
        return rows[: self.size]

    def get_paginated_response(self, data):
        url = self.request.build_absolute_uri()
        next_url = replace_query_param(url, "page", self.page + 1) if self.has_next else None
        if self.page <= 1:
            previous_url = None
        elif self.page == 2:
            previous_url = remove_query_param(url, "page")
        else:
            previous_url = replace_query_param(url, "page", self.page - 1)
        return Response({"page": self.page, "next": next_url, "previous": previous_url, "results": data})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["page", "results"],
            "properties": {
                "page": {"type": "integer", "example": 1},
                "next": {"type": "string", "nullable": True, "format": "uri"},
                "previous": {"type": "string", "nullable": True, "format": "uri"},
                "results": schema,
            },
        }

    def get_schema_operation_parameters(self, view):
        return [
            {"name": "page", "required": False, "in": "query", "description": "页码（从 1 开始；不返回总数）",
             "schema": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE}},
            {"name": "page_size", "required": False, "in": "query", "description": f"每页条数（最多 {self.max_page_size}）",
             "schema": {"type": "integer", "minimum": 1, "maximum": self.max_page_size}},
        ]
