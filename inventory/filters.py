"""FilterSets for the staff stock, movement, reservation and transfer lists."""

import django_filters
from django.db.models import F

from inventory.models import (
    LowStockAlert,
    MovementReason,
    Reservation,
    ReservationKind,
    Stock,
    StockMovement,
    Transfer,
    TransferStatus,
)


class StockFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code")
    sku = django_filters.CharFilter(field_name="variant__sku")
    needs_count = django_filters.BooleanFilter()
    in_stock = django_filters.BooleanFilter(method="filter_in_stock")
    below_reorder_point = django_filters.BooleanFilter(method="filter_below_reorder_point")

    class Meta:
        model = Stock
        fields = ["location", "sku", "needs_count"]

    def filter_in_stock(self, queryset, name, value):
        condition = {"on_hand__gt": F("reserved")}
        return queryset.filter(**condition) if value else queryset.exclude(**condition)

    def filter_below_reorder_point(self, queryset, name, value):
        annotated = queryset.annotate(projected=F("on_hand") - F("reserved") + F("incoming"))
        low = {"reorder_point__gt": 0, "projected__lte": F("reorder_point")}
        return annotated.filter(**low) if value else annotated.exclude(**low)


class MovementFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="stock__location__code")
    sku = django_filters.CharFilter(field_name="stock__variant__sku")
    reason = django_filters.ChoiceFilter(choices=MovementReason.choices)
    reference = django_filters.CharFilter()
    since = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = django_filters.IsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = StockMovement
        fields = ["location", "sku", "reason", "reference"]


class ReservationFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="stock__location__code")
    sku = django_filters.CharFilter(field_name="stock__variant__sku")
    kind = django_filters.ChoiceFilter(choices=ReservationKind.choices)
    reference = django_filters.CharFilter()

    class Meta:
        model = Reservation
        fields = ["location", "sku", "kind", "reference"]


class TransferFilter(django_filters.FilterSet):
    source = django_filters.CharFilter(field_name="source__code")
    destination = django_filters.CharFilter(field_name="destination__code")
    status = django_filters.ChoiceFilter(choices=TransferStatus.choices)

    class Meta:
        model = Transfer
        fields = ["source", "destination", "status"]


class LowStockAlertFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="stock__location__code")
    open = django_filters.BooleanFilter(field_name="resolved_at", lookup_expr="isnull")

    class Meta:
        model = LowStockAlert
        fields = ["location", "open"]
