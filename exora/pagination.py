"""The API's pages of results: DRF's limit and offset, within what a database can count.

A limit or offset past PostgreSQL's bigint (a made-up request: ?limit=9223372036854775808)
was a database error, answered 500. The limit is capped (`max_limit`, DRF's own setting) and
the offset held below a count no table here reaches, where the page is simply empty.
"""

from rest_framework.pagination import LimitOffsetPagination
from rest_framework.request import Request

MAX_LIMIT = 200
MAX_OFFSET = 2**31 - 1


class BoundedLimitOffsetPagination(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_offset(self, request: Request) -> int:
        return min(super().get_offset(request), MAX_OFFSET)
