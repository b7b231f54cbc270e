"""The storefront product FilterSet: category (with descendants), brand, price range,
attribute values, in-stock, free-text search and ordering, all within one channel.

It filters `ChannelProduct` rows (one per product sellable in the channel, with its price
range and copies of the product fields filtered and ordered by), so counting, price filters
and price ordering never aggregate listings, and no filter joins the products."""

import copy
from decimal import Decimal

import django_filters
from django.db import connection
from django.db.models import BooleanField, Expression, F, Q, Subquery
from django.db.models.functions import Collate
from django.http import QueryDict

from catalog.availability import availability_provider
from catalog.models import Category, ChannelProduct, Listing, Variant
from catalog.validation import KEY_RE
from omni.models import Channel

MAX_SEARCH_WORDS = 8

ORDERINGS = {
    "name": ("name", "product_id"),
    "-name": ("-name", "-product_id"),
    "price": ("price_from", "product_id"),
    "-price": ("-price_from", "-product_id"),
    "newest": ("-created_at", "-product_id"),
    "oldest": ("created_at", "product_id"),
}


# The filters whose matches an index only points at: pg_trgm's LIKE and jsonb's @> are
# lossy, so PostgreSQL reads and rechecks every candidate row of the table (a bitmap heap
# scan), and never gets them in a page's order from an index.
SCANNED_FILTERS = ("search", "attr")


def matches_by_scan(params) -> bool:
    """Whether the storefront parameters filter by a `SCANNED_FILTERS` one (a blank value
    filters nothing)."""
    return any((params.get(name) or "").strip() for name in SCANNED_FILTERS)


def _bytewise(field: str):
    """A text column compared byte by byte, so that a prefix's strings form one range: the
    "C" collation on PostgreSQL (the index of migration 0006 is on that expression);
    SQLite's default collation already compares bytes."""
    return Collate(F(field), "C") if connection.vendor == "postgresql" else F(field)


class InSubtree(Expression):
    """`path >= top AND path < end`, with `end` the `top` path ("a/b/") with its closing
    "/" raised to the next character ("a/b0"): the paths of the category at `top` and of
    its descendants. One expression rather than two lookups so that `top` (a subquery) is
    resolved once per request; its SQL is written at both ends."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, path, top):
        super().__init__()
        self.path, self.top = path, top

    def get_source_expressions(self):
        return [self.path, self.top]

    def set_source_expressions(self, exprs):
        self.path, self.top = exprs

    def as_sql(self, compiler, connection):
        path, path_params = compiler.compile(self.path)
        top, top_params = compiler.compile(self.top)
        sql = f"({path} >= {top} AND {path} < (RTRIM({top}, '/') || '0'))"
        return sql, (*path_params, *top_params, *path_params, *top_params)


def sellable_listings(channel: Channel):
    """Listings a shopper of `channel` can buy: published there, of an active variant."""
    return Listing.objects.filter(channel=channel, published=True, variant__active=True)


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class _SharedFields(dict):
    """A form's `base_fields` that each form takes as they are instead of deep copies
    (Django deep-copies them per form so that one may alter its own). The storefront
    filter form only validates query parameters: nothing alters or renders its fields, and
    a field's `clean` keeps no state, so every request's form can use the same ones."""

    def __deepcopy__(self, memo):
        return dict(self)


class StorefrontProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(
        method="filter_category", help_text="Category slug or id; includes its descendants."
    )
    brand = CharInFilter(method="filter_brand", help_text="One brand or several, comma-separated.")
    price_min = django_filters.NumberFilter(
        field_name="price_from",
        lookup_expr="gte",
        help_text="The product's price (its cheapest variant here) is at least this.",
    )
    price_max = django_filters.NumberFilter(
        field_name="price_from",
        lookup_expr="lte",
        help_text="The product's price (its cheapest variant here) is at most this.",
    )
    attr = django_filters.CharFilter(
        method="filter_attr",
        help_text="Attribute value as key:value; repeat the parameter to require several, "
        "separate values with | to accept any (colour:red|blue).",
    )
    in_stock = django_filters.BooleanFilter(
        method="filter_in_stock", help_text="true: some variant is available in this channel."
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text="Words found in the name, description or a SKU."
    )
    ordering = django_filters.ChoiceFilter(
        method="filter_ordering",
        choices=[(key, key) for key in ORDERINGS],
        empty_label=None,
        help_text="name (default), -name, price, -price, newest, oldest.",
    )

    class Meta:
        model = ChannelProduct
        fields: list[str] = []

    def __init__(self, data=None, queryset=None, *, channel: Channel, request=None, prefix=None):
        # django-filter's own __init__ (the same, but for this copy) deep-copies every
        # filter, with everything it holds, per request so that each points at this
        # FilterSet. Nothing of a filter changes per request but that parent and the method
        # bound through it, so shallow copies with the method bound again do the same at a
        # fraction of the cost.
        if queryset is None:
            queryset = self._meta.model._default_manager.all()
        self.is_bound = data is not None
        self.data = data or QueryDict()
        self.queryset = queryset
        self.request = request
        self.form_prefix = prefix
        self.filters = {}
        for name, base in self.base_filters.items():
            filter_ = copy.copy(base)
            filter_.model = queryset.model
            filter_.parent = self
            filter_.method = base.method  # a FilterMethod of this copy, not of `base`
            self.filters[name] = filter_
        self.channel = channel

    def get_form_class(self):
        # django-filter builds a new form class (deep-copying every filter) per request; the
        # fields are the same every time, so build it once, with fields the forms share.
        cls = type(self)
        if "_form_class" not in cls.__dict__:
            form_class = super().get_form_class()
            form_class.base_fields = _SharedFields(form_class.base_fields)
            cls._form_class = form_class
        return cls._form_class

    def _variants(self):
        return Variant.objects.filter(
            active=True, listings__channel=self.channel, listings__published=True
        )

    def filter_category(self, queryset, name, value):
        value = value.strip()
        lookup = Q(pk=int(value)) if value.isdigit() and len(value) < 19 else Q(slug=value)
        # The category and its descendants are the rows whose stored category path starts
        # with the category's ("a/b/"): the range from that path up to, not including, the
        # path with its closing "/" raised to the next character ("a/b0"), compared
        # bytewise. Both ends are subqueries of the statement (no lookup of their own), and
        # the range is an index scan of (channel, path). An unknown category gives NULL
        # ends, so nothing, rather than an error: storefront menus may lag behind a
        # category's removal.
        path = Subquery(Category.objects.filter(lookup).order_by().values("path")[:1])
        return queryset.filter(InSubtree(_bytewise("category_path"), path))

    def filter_brand(self, queryset, name, values):
        brands = [v.strip() for v in values if v.strip()]
        return queryset.filter(brand__in=brands) if brands else queryset

    def filter_attr(self, queryset, name, value):
        raw_values = self.data.getlist(name) if hasattr(self.data, "getlist") else [value]
        for raw in raw_values:
            key, _, wanted = raw.partition(":")
            queryset = queryset.filter(attribute_q(key.strip(), wanted.split("|")))
        return queryset

    def filter_in_stock(self, queryset, name, value):
        in_stock = self._variants().filter(
            availability_provider().in_stock_variants_q(channel=self.channel)
        )
        lookup = Q(product_id__in=in_stock.values("product_id"))
        return queryset.filter(lookup) if value else queryset.exclude(lookup)

    def filter_search(self, queryset, name, value):
        # Every word in the name, the description or an offered SKU (`search_text`).
        for word in value.split()[:MAX_SEARCH_WORDS]:
            queryset = queryset.filter(search_text__icontains=word)
        return queryset

    def filter_ordering(self, queryset, name, value):
        return queryset.order_by(*ORDERINGS[value])

    def is_valid(self):
        valid = super().is_valid()
        if valid:
            low = self.form.cleaned_data.get("price_min")
            high = self.form.cleaned_data.get("price_max")
            if low is not None and high is not None and low > high:
                self.form.add_error("price_max", "price_max is below price_min.")
                return False
            raw_attrs = self.data.getlist("attr") if hasattr(self.data, "getlist") else []
            for raw in raw_attrs:
                key, sep, wanted = raw.partition(":")
                if not sep or not KEY_RE.match(key.strip()) or not wanted:
                    self.form.add_error("attr", f"{raw!r} is not key:value.")
                    return False
        return valid


def _json_candidates(raw: str) -> list:
    """A query-string value may stand for a text, number or boolean attribute value."""
    values: list = [raw]
    if raw.lower() in ("true", "false"):
        values.append(raw.lower() == "true")
    try:
        number = Decimal(raw)
    except ArithmeticError:
        number = None
    if number is not None and number.is_finite():
        values.append(int(number) if number == number.to_integral_value() else float(number))
    return values


def attribute_q(key: str, wanted: list[str]) -> Q:
    """`ChannelProduct` rows whose attribute `key` has one of the `wanted` values. On
    PostgreSQL this is JSONB containment (@>), served by the GIN index on the rows'
    attributes; SQLite has no containment
    and compares the extracted value instead."""
    q = Q()
    for raw in wanted:
        for candidate in _json_candidates(raw.strip()):
            if connection.vendor == "postgresql":
                q |= Q(attributes__contains={key: {"value": candidate}})
            else:
                q |= Q(**{f"attributes__{key}__value": candidate})
    return q
