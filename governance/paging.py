"""Pagination that does not count: a page of N reads N+1 rows, whatever the size of the table (a page
past the end counts once, to show the last page instead).
Design notes: docs/architecture/governance.md."""

from __future__ import annotations

# Beyond this a page number is treated as this one (an empty page): larger offsets overflow the
# database's integer (SQLite answers "datatype mismatch").
MAX_PAGE = 1_000_000


class _Uncounted:
    uncounted = True
    count = None
    num_pages = None

    def __init__(self, per_page: int):
        self.per_page = per_page


class UncountedPage:
    def __init__(self, queryset, number, per_page: int = 50):
        try:
            number = min(max(1, int(number)), MAX_PAGE)
        except (TypeError, ValueError):
            number = 1
        offset = (number - 1) * per_page
        rows = list(queryset[offset:offset + per_page + 1])
        if not rows and number > 1:  # past the end (an old link, a typed number): the last page
            number = max(1, -(-queryset.count() // per_page))
            offset = (number - 1) * per_page
            rows = list(queryset[offset:offset + per_page + 1])
        self.object_list = rows[:per_page]
        self.number = number
        self.paginator = _Uncounted(per_page)
        self._has_next = len(rows) > per_page

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


class Concatenation:
    """Two querysets read as one list, every row of the first before those of the second, each part in
    its own order (so that each can be read along an index rather than the whole set sorted): what
    UncountedPage asks of a queryset, slices and count(). A slice reads the first part, and the second
    only when the first runs out (counting the first only when the slice starts past its end)."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def count(self) -> int:
        return self.first.count() + self.second.count()

    def __getitem__(self, window: slice) -> list:
        start, stop = window.start or 0, window.stop
        rows = list(self.first[start:stop])
        if len(rows) == stop - start:
            return rows
        in_first = start + len(rows) if rows or not start else self.first.count()
        second_start = max(0, start - in_first)
        return rows + list(self.second[second_start:second_start + (stop - start) - len(rows)])

