"""Storefront pagination: page numbers as everywhere else in the API (`count`, `next`,
`previous`, `results`), but the page and the total come back in one query. On PostgreSQL
that one query also builds the page's JSON (`selectors.storefront_page_json`), which is
sent as it comes without a serializer or renderer pass over it."""

import json

from django.core.paginator import EmptyPage, InvalidPage, PageNotAnInteger, Paginator
from django.db.models import IntegerField, Subquery
from django.http import HttpResponse
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from omni.pagination import PageNumberPagination

TOTAL = "_page_total"


class RowCount(Subquery):
    """The number of rows of a queryset, as a scalar subquery. Uncorrelated, so the
    database evaluates it once per statement (PostgreSQL: an InitPlan), not once per row."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"

    def __init__(self, queryset, **extra):
        super().__init__(queryset.order_by().values("pk"), output_field=IntegerField(), **extra)


class PageJSON:
    """A page's results already written as a JSON array (`text`) of `length` items."""

    __slots__ = ("length", "text")

    def __init__(self, text: str, length: int):
        self.text = text
        self.length = length

    def __len__(self) -> int:
        return self.length


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
        counted = "count" in self.__dict__  # the total is known already
        if counted:
            number = self.validate_number(number)
        else:
            try:
                if isinstance(number, float) and not number.is_integer():
                    raise ValueError
                number = int(number)
            except (TypeError, ValueError) as exc:
                raise PageNotAnInteger(self.error_messages["invalid_page"]) from exc
            if number < 1:
                raise EmptyPage(self.error_messages["min_page"])
        bottom = (number - 1) * self.per_page
        total, rows = self.read(bottom, bottom + self.per_page)
        if not counted:
            if not len(rows):
                if number == 1 and self.allow_empty_first_page:
                    total = 0
                else:
                    raise EmptyPage(self.error_messages["no_results"])
            self.__dict__["count"] = total  # Paginator.count is a cached_property
        return self._get_page(rows, number, self)

    def read(self, bottom: int, top: int):
        """(the total, or None when the page is empty; the page's rows)."""
        rows = list(
            self.object_list.values(*self.values, **{TOTAL: RowCount(self.object_list)})[bottom:top]
        )
        total = rows[0][TOTAL] if rows else None
        for row in rows:
            del row[TOTAL]
        return total, rows


class StorefrontJSONPaginator(TotalInPagePaginator):
    """Pages as `PageJSON`, written by PostgreSQL with the total in the same statement."""

    def __init__(self, object_list, per_page, *, channel, scanned=False, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.channel = channel
        self.scanned = scanned

    def read(self, bottom: int, top: int):
        from catalog.selectors import storefront_page_json

        total, length, text = storefront_page_json(
            channel=self.channel,
            products=self.object_list,
            bottom=bottom,
            top=top,
            scanned=self.scanned,
        )
        return total, PageJSON(text, length)


class StorefrontPagination(PageNumberPagination):
    """Pages of `values` dicts; the count subquery is built before those fields' joins.
    With `channel` set (by the view, when `selectors.storefront_page_in_sql`), pages of
    `PageJSON` instead (`scanned`: see `selectors.storefront_page_json`)."""

    values: tuple[str, ...] = ()
    channel = None
    scanned = False

    def django_paginator_class(self, queryset, page_size):
        if self.channel is not None:
            return StorefrontJSONPaginator(
                queryset, page_size, channel=self.channel, scanned=self.scanned
            )
        return TotalInPagePaginator(queryset, page_size, values=self.values)

    def paginate_queryset(self, queryset, request, view=None):
        """DRF's, except that a `PageJSON` page is returned as it is (not made a list)."""
        if self.channel is None:
            return super().paginate_queryset(queryset, request, view)
        self.request = request
        paginator = self.django_paginator_class(queryset, self.get_page_size(request))
        page_number = self.get_page_number(request, paginator)
        try:
            self.page = paginator.page(page_number)
        except InvalidPage as exc:
            raise NotFound(
                self.invalid_page_message.format(page_number=page_number, message=str(exc))
            ) from exc
        return self.page.object_list

    def get_page_json_response(self, results: PageJSON):
        """The paginated response around results written already: its bytes as they are
        when the negotiated renderer is JSON (the same document `get_paginated_response`
        renders), else a `Response` for the negotiated renderer (the browsable API)."""
        head = {
            "count": self.page.paginator.count,
            "next": self.get_next_link(),
            "previous": self.get_previous_link(),
        }
        if not isinstance(getattr(self.request, "accepted_renderer", None), JSONRenderer):
            return Response({**head, "results": json.loads(results.text)})
        written = json.dumps(head, ensure_ascii=False, separators=(",", ":"))
        return HttpResponse(
            f'{written[:-1]},"results":{results.text}}}'.encode(),
            content_type="application/json",
        )
