"""Pagination of every list: ``count``, ``next``, ``previous``, ``results``."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination

import errors
from httpapi.params import query_params_not_empty


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 5000

    def get_page_size(self, request):
        """``page_size`` as the schema states it: a positive whole number (more than
        ``max_page_size`` is cut to it); anything else (``null``, ``0``, ``ten``) is a 400
        rather than silently the default."""
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise errors.InvalidInput(
                "page_size must be a positive whole number.",
                details={"field": "page_size", "value": raw[:40]},
            )
        return min(int(raw), self.max_page_size)

    def get_page_number(self, request, paginator):
        # DRF reads an empty ``page=`` as page 1; the schema says a positive integer.
        query_params_not_empty(request.query_params, self.page_query_param)
        return super().get_page_number(request, paginator)


def paginated_response(request, view, queryset, serializer_class, **serializer_kwargs):
    """One page of ``queryset`` rendered with ``serializer_class``."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(
        serializer_class(page, many=True, **serializer_kwargs).data
    )
