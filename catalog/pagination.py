"""Storefront pagination: page numbers as everywhere else in the API (`count`, `next`,
`previous`, `results`), but the page and the total come back in one query."""

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db.models import IntegerField, Subquery

from omni.pagination import PageNumberPagination

TOTAL = "_page_total"


class RowCount(Subquery):
    """The number of rows of a queryset, as a scalar subquery. Uncorrelated, so the
    database evaluates it once per statement (PostgreSQL: an InitPlan), not once per row."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"

    def __init__(self, queryset, **extra):
        super().__init__(queryset.order_by().values("pk"), output_field=IntegerField(), **extra)


class TotalInPagePaginator(Paginator):
    """A Django paginator over a model queryset whose `page()` reads the rows (dicts of the
    `values` fields) and the total count in one statement (each row carries the total),
    instead of a COUNT query followed by the page query. The total of an empty first page
    is 0 without a query; an empty later page is past the end (EmptyPage). Asked for its
    count first (DRF's "last" page), it counts with a query of its own, then reads the
    page as usual."""

    def __init__(self, object_list, per_page, orphans=0, *, values=(), **kwargs):
        if orphans:
            raise ValueError("TotalInPagePaginator does not support orphans.")
        super().__init__(object_list, per_page, orphans=0, **kwargs)
        self.values = tuple(values)

    def page(self, number):
        if "count" in self.__dict__:  # the total is known already
            page = super().page(number)
            page.object_list = list(page.object_list.values(*self.values))
            return page
        try:
            if isinstance(number, float) and not number.is_integer():
                raise ValueError
            number = int(number)
        except (TypeError, ValueError) as exc:
            raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
        if number < 1:
            raise EmptyPage(self.error_messages["min_page"])
        bottom = (number - 1) * self.per_page
        rows = list(
            self.object_list.values(*self.values, **{TOTAL: RowCount(self.object_list)})[
                bottom : bottom + self.per_page
            ]
        )
        if rows:
            total = rows[0][TOTAL]
            for row in rows:
                del row[TOTAL]
        elif number == 1 and self.allow_empty_first_page:
            total = 0
        else:
            raise EmptyPage(self.error_messages["no_results"])
        self.__dict__["count"] = total  # Paginator.count is a cached_property
        return self._get_page(rows, number, self)


class StorefrontPagination(PageNumberPagination):
    """Pages of `values` dicts; the count subquery is built before those fields' joins."""

    values: tuple[str, ...] = ()

    def django_paginator_class(self, queryset, page_size):
        return TotalInPagePaginator(queryset, page_size, values=self.values)
