"""Pagination of every list: ``count``, ``next``, ``previous``, ``results``."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 5000


def paginated_response(request, view, queryset, serializer_class, **serializer_kwargs):
    """One page of ``queryset`` rendered with ``serializer_class``."""
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response(
        serializer_class(page, many=True, **serializer_kwargs).data
    )
