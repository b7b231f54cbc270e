"""Analytics API: storefront behaviour events and related products (channel keys), and the
staff KPI, forecast and replenishment endpoints (permission `analytics.view_kpis`)."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.models import (
    DemandForecast,
    EventKind,
    ReplenishmentSuggestion,
    SuggestionKind,
    SuggestionStatus,
)
from analytics.recommendations import customer_suggestions, related_products
from analytics.replenishment import suggestion_dismiss, suggestion_to_transfer
from analytics.services import EventInput, events_record
from catalog.models import Variant
from catalog.selectors import storefront_products
from inventory.models import StockLocation
from omni.errors import InvalidInput, NotFound
from omni.models import Channel
from omni.permissions import IsChannelOrStaff, IsStaffWithModelPermission, request_channel

MAX_PERIOD_DAYS = 3 * 366
VIEW_KPIS = ["analytics.view_kpis"]


def jsonable(value):
    """Decimals as strings (money must not pass through floats), dates as ISO strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _params(request):
    """Query parameters of a DRF request or of a plain Django one (the admin dashboard)."""
    return getattr(request, "query_params", request.GET)


def _date_param(request, name: str) -> date | None:
    raw = _params(request).get(name)
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{name} must be a date (YYYY-MM-DD).", code="invalid_date", field=name
        ) from exc


def _int_param(request, name: str, default: int, low: int, high: int) -> int:
    raw = _params(request).get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise InvalidInput(
            f"{name} must be an integer.", code="invalid_integer", field=name
        ) from exc
    if not low <= value <= high:
        raise InvalidInput(
            f"{name} must be between {low} and {high}.", code="out_of_range", field=name
        )
    return value


def period_from(request) -> selectors.Period:
    """`start`/`end` (inclusive) or `days` ending `end` (default: the last 30 days to today)."""
    end = _date_param(request, "end") or timezone.localdate()
    start = _date_param(request, "start")
    if start is None:
        days = _int_param(request, "days", 30, 1, MAX_PERIOD_DAYS)
        start = end - timedelta(days=days - 1)
    if start > end:
        raise InvalidInput("start must not be after end.", code="invalid_period", field="start")
    if (end - start).days + 1 > MAX_PERIOD_DAYS:
        raise InvalidInput(
            f"A period spans at most {MAX_PERIOD_DAYS} days.", code="period_too_long", field="start"
        )
    return selectors.Period(start, end)


def channel_ids_from(request) -> list[int] | None:
    codes = [c for c in _params(request).getlist("channel") if c]
    if not codes:
        return None
    found = dict(Channel.objects.filter(code__in=codes).values_list("code", "id"))
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise InvalidInput(
            f"Unknown channel {unknown[0]!r}.", code="unknown_channel", field="channel"
        )
    return sorted(found.values())


def location_ids_from(request) -> list[int] | None:
    codes = [c for c in _params(request).getlist("location") if c]
    if not codes:
        return None
    found = dict(StockLocation.objects.filter(code__in=codes).values_list("code", "id"))
    unknown = sorted(set(codes) - set(found))
    if unknown:
        raise InvalidInput(
            f"Unknown location {unknown[0]!r}.", code="unknown_location", field="location"
        )
    return sorted(found.values())


PERIOD_PARAMS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (inclusive)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (inclusive); default today."),
    OpenApiParameter("days", OpenApiTypes.INT, description="Length when start is not given (30)."),
    OpenApiParameter("channel", OpenApiTypes.STR, many=True, description="Channel code(s)."),
]


class StaffKpiView(APIView):
    permission_classes = [IsStaffWithModelPermission]
    staff_permissions = VIEW_KPIS


# --- storefront -------------------------------------------------------------------------------


class EventInputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    type = serializers.ChoiceField(choices=EventKind.choices)
    session_id = serializers.CharField(max_length=64)
    occurred_at = serializers.DateTimeField()
    sku = serializers.CharField(max_length=64, required=False)
    product_id = serializers.IntegerField(min_value=1, required=False)
    customer_id = serializers.IntegerField(min_value=1, required=False)

    def validate_occurred_at(self, value):
        if value > timezone.now() + timedelta(minutes=5):
            raise serializers.ValidationError("The event is in the future.", code="in_future")
        return value

    def validate(self, attrs):
        if attrs["type"] != EventKind.CHECKOUT_START and not (
            attrs.get("sku") or attrs.get("product_id")
        ):
            raise serializers.ValidationError(
                {"sku": serializers.ErrorDetail("sku or product_id is required.", code="required")}
            )
        return attrs


class EventBatchSerializer(serializers.Serializer):
    events = EventInputSerializer(many=True, allow_empty=False, max_length=500)


class EventBatchView(APIView):
    """`POST /api/v1/events/`: a batch of product views, add-to-carts and checkout starts.
    Idempotent by event `id`: a redelivered event is counted once."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "events"

    @extend_schema(request=EventBatchSerializer, responses=OpenApiTypes.OBJECT)
    def post(self, request):
        channel = request_channel(request)
        serializer = EventBatchSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        inputs = [
            EventInput(
                event_id=e["id"],
                kind=e["type"],
                session_id=e["session_id"],
                occurred_at=e["occurred_at"],
                sku=e.get("sku"),
                product_id=e.get("product_id"),
                customer_id=e.get("customer_id"),
            )
            for e in serializer.validated_data["events"]
        ]
        result = events_record(channel=channel, events=inputs)
        return Response(
            {
                "received": result.received,
                "accepted": result.accepted,
                "duplicates": result.duplicates,
            },
            status=status.HTTP_202_ACCEPTED,
        )


class RelatedProductsView(APIView):
    """`GET /api/v1/products/{id}/related/`: products bought together with this one that the
    channel lists."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "catalog"

    @extend_schema(
        responses=OpenApiTypes.OBJECT,
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT)],
    )
    def get(self, request, product_id: int):
        channel = request_channel(request)
        # Like the product itself: a product the channel does not list does not exist there.
        if not storefront_products(channel=channel).filter(product_id=product_id).exists():
            raise NotFound("No such product.", code="product_not_found")
        limit = _int_param(request, "limit", 10, 1, 50)
        return Response(
            {
                "product_id": product_id,
                "related": related_products(product_id=product_id, channel=channel, limit=limit),
            }
        )


# --- staff KPIs -------------------------------------------------------------------------------


class KpiSummaryView(StaffKpiView):
    """Sales KPIs (net sales, orders, AOV, units per order, conversion, discount and return
    rates, pickups, fulfilment time) with the previous period."""

    @extend_schema(parameters=PERIOD_PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        data = selectors.kpi_summary(
            period=period_from(request), channel_ids=channel_ids_from(request)
        )
        return Response(jsonable(data))


class KpiChannelsView(StaffKpiView):
    @extend_schema(parameters=PERIOD_PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        period = period_from(request)
        return Response(
            jsonable(
                {"period": period.as_dict(), "channels": selectors.kpi_by_channel(period=period)}
            )
        )


class KpiCustomersView(StaffKpiView):
    @extend_schema(parameters=PERIOD_PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        data = selectors.customer_kpis(
            period=period_from(request), channel_ids=channel_ids_from(request)
        )
        return Response(jsonable(data))


class KpiInventoryView(StaffKpiView):
    @extend_schema(
        parameters=[*PERIOD_PARAMS[:3], OpenApiParameter("location", OpenApiTypes.STR, many=True)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        data = selectors.inventory_kpis(
            period=period_from(request), location_ids=location_ids_from(request)
        )
        return Response(jsonable(data))


class SalesSeriesView(StaffKpiView):
    @extend_schema(parameters=PERIOD_PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        period = period_from(request)
        rows = selectors.sales_series(period=period, channel_ids=channel_ids_from(request))
        return Response(jsonable({"period": period.as_dict(), "series": rows}))


class FunnelView(StaffKpiView):
    @extend_schema(parameters=PERIOD_PARAMS, responses=OpenApiTypes.OBJECT)
    def get(self, request):
        period = period_from(request)
        rows = selectors.funnel(period=period, channel_ids=channel_ids_from(request))
        return Response(jsonable({"period": period.as_dict(), "channels": rows}))


class ChannelFlowView(StaffKpiView):
    @extend_schema(parameters=PERIOD_PARAMS[:3], responses=OpenApiTypes.OBJECT)
    def get(self, request):
        return Response(jsonable(selectors.channel_flow(period=period_from(request))))


class CohortsView(StaffKpiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("start_month", OpenApiTypes.DATE),
            OpenApiParameter("end_month", OpenApiTypes.DATE),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        end = _date_param(request, "end_month") or timezone.localdate()
        start = _date_param(request, "start_month") or (end.replace(day=1) - timedelta(days=330))
        if start > end:
            raise InvalidInput(
                "start_month must not be after end_month.",
                code="invalid_period",
                field="start_month",
            )
        if (end.year - start.year) * 12 + end.month - start.month > 36:
            raise InvalidInput("At most 36 months.", code="period_too_long", field="start_month")
        return Response(jsonable({"cohorts": selectors.cohorts(start_month=start, end_month=end)}))


class TopProductsView(StaffKpiView):
    @extend_schema(
        parameters=[*PERIOD_PARAMS[:3], OpenApiParameter("limit", OpenApiTypes.INT)],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        period = period_from(request)
        rows = selectors.top_products(
            period=period,
            limit=_int_param(request, "limit", 10, 1, 100),
            location_ids=location_ids_from(request),
        )
        return Response(jsonable({"period": period.as_dict(), "products": rows}))


class LowStockView(StaffKpiView):
    @extend_schema(
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT)], responses=OpenApiTypes.OBJECT
    )
    def get(self, request):
        rows = selectors.low_stock(limit=_int_param(request, "limit", 50, 1, 500))
        return Response(jsonable({"stock": rows}))


class ForecastView(StaffKpiView):
    """Stored forecast for `sku` + `location`, or for a `channel`."""

    @extend_schema(
        parameters=[
            OpenApiParameter("sku", OpenApiTypes.STR),
            OpenApiParameter("location", OpenApiTypes.STR),
            OpenApiParameter("channel", OpenApiTypes.STR),
        ],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request):
        sku = request.query_params.get("sku")
        if sku:
            variant = Variant.objects.filter(sku=sku).first()
            if variant is None:
                raise InvalidInput(f"Unknown SKU {sku!r}.", code="unknown_sku", field="sku")
            location_ids = location_ids_from(request)
            if not location_ids:
                raise InvalidInput(
                    "Name the location of the SKU.", code="location_required", field="location"
                )
            qs = DemandForecast.objects.filter(variant=variant, location_id__in=location_ids)
        else:
            channel_ids = channel_ids_from(request)
            if not channel_ids:
                raise InvalidInput(
                    "Give sku and location, or channel.", code="scope_required", field="sku"
                )
            qs = DemandForecast.objects.filter(channel_id__in=channel_ids)
        rows = list(qs.order_by("day").values("day", "quantity", "method"))
        return Response(jsonable({"forecast": rows}))


class SuggestionSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    source_location = serializers.CharField(source="source_location.code", default=None)

    class Meta:
        model = ReplenishmentSuggestion
        fields = [
            "id",
            "sku",
            "location",
            "kind",
            "source_location",
            "quantity",
            "forecast_daily",
            "lead_time_days",
            "lead_time_demand",
            "safety_stock",
            "on_hand",
            "available",
            "in_transit",
            "status",
            "transfer_reference",
            "created_at",
        ]
        read_only_fields = fields


class ReplenishmentListView(StaffKpiView):
    @extend_schema(
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=SuggestionKind.values),
            OpenApiParameter("status", OpenApiTypes.STR, enum=SuggestionStatus.values),
        ],
        responses=SuggestionSerializer(many=True),
    )
    def get(self, request):
        qs = ReplenishmentSuggestion.objects.select_related(
            "variant", "location", "source_location"
        )
        wanted_status = request.query_params.get("status") or SuggestionStatus.OPEN
        if wanted_status not in SuggestionStatus.values:
            raise InvalidInput("Unknown status.", code="invalid_choice", field="status")
        qs = qs.filter(status=wanted_status)
        kind = request.query_params.get("kind")
        if kind:
            if kind not in SuggestionKind.values:
                raise InvalidInput("Unknown kind.", code="invalid_choice", field="kind")
            qs = qs.filter(kind=kind)
        limit = _int_param(request, "limit", 100, 1, 1000)
        return Response(SuggestionSerializer(qs[:limit], many=True).data)


class SuggestionTransferSerializer(serializers.Serializer):
    source_location = serializers.SlugRelatedField(
        slug_field="code", queryset=StockLocation.objects.filter(active=True), required=False
    )


class ReplenishmentTransferView(APIView):
    """Turn a suggestion into a draft inventory transfer."""

    permission_classes = [IsStaffWithModelPermission]
    staff_permissions = ["analytics.manage_replenishment"]

    @extend_schema(request=SuggestionTransferSerializer, responses=SuggestionSerializer)
    def post(self, request, suggestion_id: int):
        data = SuggestionTransferSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        source = data.validated_data.get("source_location")
        suggestion_to_transfer(
            suggestion_id=suggestion_id,
            source_location_id=source.id if source else None,
            user=request.user,
        )
        suggestion = ReplenishmentSuggestion.objects.select_related(
            "variant", "location", "source_location"
        ).get(pk=suggestion_id)
        return Response(SuggestionSerializer(suggestion).data, status=status.HTTP_201_CREATED)


class ReplenishmentDismissView(APIView):
    permission_classes = [IsStaffWithModelPermission]
    staff_permissions = ["analytics.manage_replenishment"]

    @extend_schema(request=None, responses=SuggestionSerializer)
    def post(self, request, suggestion_id: int):
        suggestion_dismiss(suggestion_id=suggestion_id)
        suggestion = ReplenishmentSuggestion.objects.select_related(
            "variant", "location", "source_location"
        ).get(pk=suggestion_id)
        return Response(SuggestionSerializer(suggestion).data)


class CustomerSuggestionsView(StaffKpiView):
    """A customer's suggested products (recomputed by Celery); `channel` keeps the products it
    publishes. The customer lookup serves the same list through the customers port."""

    @extend_schema(
        parameters=[OpenApiParameter("channel", OpenApiTypes.STR, description="Channel code")],
        responses=OpenApiTypes.OBJECT,
    )
    def get(self, request, customer_id: int):
        code = request.query_params.get("channel")
        channel = None
        if code:
            channel = Channel.objects.filter(code=code).first()
            if channel is None:
                raise NotFound(
                    f"Unknown channel {code!r}.", code="unknown_channel", field="channel"
                )
        products = customer_suggestions(customer_id=customer_id, channel=channel)
        return Response({"customer_id": customer_id, "products": products})
