"""The storefront product FilterSet: category (with descendants), brand, price range,
attribute values, in-stock, free-text search and ordering, all within one channel."""

from decimal import Decimal

import django_filters
from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from catalog.availability import availability_provider
from catalog.models import Category, Listing, Product, Variant
from catalog.validation import KEY_RE
from omni.models import Channel

ORDERINGS = {
    "name": ("name", "id"),
    "-name": ("-name", "-id"),
    "price": ("price_from", "id"),
    "-price": ("-price_from", "-id"),
    "newest": ("-created_at", "-id"),
    "oldest": ("created_at", "id"),
}


def sellable_listings(channel: Channel):
    """Listings a shopper of `channel` can buy: published there, of an active variant."""
    return Listing.objects.filter(channel=channel, published=True, variant__active=True)


class CharInFilter(django_filters.BaseInFilter, django_filters.CharFilter):
    pass


class StorefrontProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(
        method="filter_category", help_text="Category slug or id; includes its descendants."
    )
    brand = CharInFilter(method="filter_brand", help_text="One brand or several, comma-separated.")
    price_min = django_filters.NumberFilter(
        method="filter_price", help_text="Some sellable variant costs at least this."
    )
    price_max = django_filters.NumberFilter(
        method="filter_price", help_text="Some sellable variant costs at most this."
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
        model = Product
        fields: list[str] = []

    def __init__(self, *args, channel: Channel, **kwargs):
        super().__init__(*args, **kwargs)
        self.channel = channel

    def _variants(self):
        return Variant.objects.filter(
            active=True, listings__channel=self.channel, listings__published=True
        )

    def filter_category(self, queryset, name, value):
        value = value.strip()
        lookup = Q(pk=int(value)) if value.isdigit() else Q(slug=value)
        path = Category.objects.filter(lookup).values_list("path", flat=True).first()
        if path is None:
            # An unknown category matches nothing rather than erroring: storefront menus may
            # lag behind a category's removal.
            return queryset.none()
        return queryset.filter(category__path__startswith=path)

    def filter_brand(self, queryset, name, values):
        brands = [v.strip() for v in values if v.strip()]
        return queryset.filter(brand__in=brands) if brands else queryset

    def filter_price(self, queryset, name, value):
        # Both bounds apply to the same listing, so price_min and price_max are handled
        # together once.
        if getattr(self, "_price_done", False):
            return queryset
        self._price_done = True
        low = self.form.cleaned_data.get("price_min")
        high = self.form.cleaned_data.get("price_max")
        listings = sellable_listings(self.channel)
        if low is not None:
            listings = listings.filter(price__gte=Decimal(low))
        if high is not None:
            listings = listings.filter(price__lte=Decimal(high))
        return queryset.filter(pk__in=listings.values("variant__product_id"))

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
        lookup = Q(pk__in=in_stock.values("product_id"))
        return queryset.filter(lookup) if value else queryset.exclude(lookup)

    def filter_search(self, queryset, name, value):
        for word in value.split()[:8]:
            skus = Variant.objects.filter(sku__icontains=word).values("product_id")
            queryset = queryset.filter(
                Q(name__icontains=word) | Q(description__icontains=word) | Q(pk__in=skus)
            )
        return queryset

    def filter_ordering(self, queryset, name, value):
        if value in ("price", "-price"):
            cheapest = (
                sellable_listings(self.channel)
                .filter(variant__product=OuterRef("pk"))
                .order_by("price")
                .values("price")[:1]
            )
            queryset = queryset.annotate(price_from=Subquery(cheapest))
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
    """Products whose attribute `key` has one of the `wanted` values. On PostgreSQL this is
    JSONB containment (@>), served by the GIN index on attributes; SQLite has no containment
    and compares the extracted value instead."""
    q = Q()
    for raw in wanted:
        for candidate in _json_candidates(raw.strip()):
            if connection.vendor == "postgresql":
                q |= Q(attributes__contains={key: {"value": candidate}})
            else:
                q |= Q(**{f"attributes__{key}__value": candidate})
    return q
