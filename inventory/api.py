"""Inventory API: storefront availability, and the staff endpoints for locations, stock,
the ledger, receipts, adjustments, write-offs, counts, transfers and low stock."""

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from inventory import selectors, services
from inventory.audit import audit_stock_movements
from inventory.errors import ReservationInUse, UnknownLocation, UnknownVariant
from inventory.filters import (
    LowStockAlertFilter,
    MovementFilter,
    ReservationFilter,
    StockFilter,
    TransferFilter,
)
from inventory.models import (
    ChannelLocation,
    LowStockAlert,
    Reservation,
    Stock,
    StockCount,
    StockLocation,
    StockMovement,
    Transfer,
    TransferLine,
)
from inventory.scoping import location_check, scope_queryset
from omni.audit import AuditAction, audit_diff, audit_record, audit_snapshot
from omni.errors import InvalidInput
from omni.models import Channel
from omni.permissions import IsChannelOrStaff, request_channel

MAX_SKUS = 100


# --- input resolution -------------------------------------------------------------------------


def _location(code: str, field: str = "location", user=None) -> StockLocation:
    """The location named `code`; with `user`, refused (403) outside a store staff member's
    assigned stores."""
    location = StockLocation.objects.filter(code=code).first()
    if location is None:
        raise UnknownLocation(f"Unknown stock location {code!r}.", field=field)
    if user is not None:
        location_check(user, location.pk, field=field)
    return location


class LocationScopedMixin:
    """Staff API querysets limited to a store staff member's assigned location(s), so another
    store's rows are 404 and absent from lists."""

    scope_paths: tuple[str, ...] = ("location",)

    def get_queryset(self):
        return scope_queryset(super().get_queryset(), self.request.user, *self.scope_paths)


def _audit_movements(request, movements) -> None:
    audit_stock_movements(request.user, movements, source="api")


def _variant_ids(skus: list[str], field: str = "lines.{index}.sku") -> list[int]:
    """Variant id per SKU, in order; the first unknown SKU is named in the error. One query."""
    known = selectors.variant_ids_by_sku(skus)
    for index, sku in enumerate(skus):
        if sku not in known:
            raise UnknownVariant(f"Unknown SKU {sku!r}.", field=field.format(index=index))
    return [known[sku] for sku in skus]


def _stock_lines(lines: list[dict]) -> list[services.StockLine]:
    ids = _variant_ids([line["sku"] for line in lines])
    return [
        services.StockLine(variant_id=vid, quantity=line["quantity"])
        for vid, line in zip(ids, lines, strict=True)
    ]


class LineInput(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    # Range checks live in the services, which answer with `invalid_quantity`.
    quantity = serializers.IntegerField()


class MovementOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="stock.variant.sku", read_only=True)
    location = serializers.CharField(source="stock.location.code", read_only=True)
    user = serializers.CharField(
        source="user.username", read_only=True, default=None, allow_null=True
    )

    class Meta:
        model = StockMovement
        fields = ["id", "sku", "location", "reason", "quantity", "reference", "note", "user",
                  "created_at"]  # fmt: skip
        read_only_fields = fields


def _movements_response(movements: list[StockMovement], code=status.HTTP_201_CREATED):
    rows = StockMovement.objects.filter(pk__in=[m.pk for m in movements]).select_related(
        "stock__variant", "stock__location", "user"
    )
    return Response(MovementOutput(rows.order_by("id"), many=True).data, status=code)


# --- storefront -----------------------------------------------------------------------------


class AvailabilityApi(APIView):
    """Available-to-sell per SKU in the calling channel, what of it can ship, and per pickup
    location. Unknown SKUs, and SKUs the channel does not sell, are a 400 naming them."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "catalog"

    class PickupAvailabilityOutput(serializers.Serializer):
        location = serializers.CharField(source="location_code")
        name = serializers.CharField(source="location_name")
        available = serializers.IntegerField()

    class AvailabilityOutput(serializers.Serializer):
        sku = serializers.CharField()
        available = serializers.IntegerField()
        ship_available = serializers.IntegerField()
        pickup = serializers.ListField(child=serializers.DictField())

    @extend_schema(
        parameters=[
            OpenApiParameter("sku", str, many=True, required=True, description="Repeat per SKU."),
        ],
        responses={
            200: inline_serializer(
                "AvailabilityList",
                {"channel": serializers.CharField(), "results": AvailabilityOutput(many=True)},
            )
        },
    )
    def get(self, request):
        channel = request_channel(request)
        skus = []
        for value in request.query_params.getlist("sku"):
            skus.extend(s.strip() for s in value.split(",") if s.strip())
        skus = list(dict.fromkeys(skus))
        if not skus:
            raise InvalidInput("Name at least one sku.", code="required", field="sku")
        if len(skus) > MAX_SKUS:
            raise InvalidInput(f"At most {MAX_SKUS} SKUs per call.", code="too_many", field="sku")
        found = selectors.availability_for_skus(channel=channel, skus=skus)
        unknown = [sku for sku in skus if sku not in found]
        if unknown:
            raise UnknownVariant(
                f"Unknown SKU {unknown[0]!r}, or not sold in channel {channel.code}.",
                field="sku",
                skus=unknown,
            )
        results = []
        for sku in skus:
            item = found[sku]
            results.append(
                {
                    "sku": sku,
                    "available": item.available,
                    "ship_available": item.ship_available,
                    "pickup": self.PickupAvailabilityOutput(item.pickup, many=True).data,
                }
            )
        return Response({"channel": channel.code, "results": results})


# --- staff: locations and channel assignment ----------------------------------------------


class StockLocationSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockLocation
        fields = ["id", "code", "name", "kind", "address_line", "city", "postcode", "country",
                  "latitude", "longitude", "pickup_enabled", "ships_enabled", "active"]  # fmt: skip


class StockLocationViewSet(
    LocationScopedMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff: stock locations (deactivate instead of deleting: the ledger refers to them)."""

    queryset = StockLocation.objects.all()
    serializer_class = StockLocationSerializer
    lookup_field = "code"
    scope_paths = ("pk",)
    filterset_fields = ["kind", "active", "pickup_enabled", "ships_enabled"]


class ChannelLocationSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", queryset=Channel.objects.all())
    location = serializers.SlugRelatedField(slug_field="code", queryset=StockLocation.objects.all())

    class Meta:
        model = ChannelLocation
        fields = ["id", "channel", "location", "priority"]


class ChannelLocationViewSet(viewsets.ModelViewSet):
    """Staff: which locations each channel sells from, and in what priority (lower first)."""

    queryset = ChannelLocation.objects.select_related("channel", "location")
    serializer_class = ChannelLocationSerializer
    filterset_fields = {"channel__code": ["exact"], "location__code": ["exact"]}


# --- staff: stock, ledger, reservations -----------------------------------------------------


class StockSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku", read_only=True)
    location = serializers.CharField(source="location.code", read_only=True)
    available = serializers.IntegerField(read_only=True)

    class Meta:
        model = Stock
        fields = ["id", "sku", "location", "on_hand", "reserved", "available", "incoming",
                  "reorder_point", "needs_count", "updated_at"]  # fmt: skip
        read_only_fields = ["id", "sku", "location", "on_hand", "reserved", "available",
                            "incoming", "needs_count", "updated_at"]  # fmt: skip

    def validate_reorder_point(self, value: int) -> int:
        if value < 0:
            raise serializers.ValidationError("Must be >= 0.", code="invalid_quantity")
        return value


class StockViewSet(
    LocationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """Staff: stock per (variant, location). Counters change only through the operations
    endpoints; the reorder point is the one field edited here."""

    queryset = Stock.objects.select_related("variant", "location").order_by(
        "location__code", "variant__sku"
    )
    serializer_class = StockSerializer
    filterset_class = StockFilter
    http_method_names = ["get", "patch", "head", "options"]

    def perform_update(self, serializer):
        before = audit_snapshot(serializer.instance, ["reorder_point"])
        super().perform_update(serializer)
        changes = audit_diff(before, audit_snapshot(serializer.instance, ["reorder_point"]))
        if changes:
            audit_record(
                user=self.request.user,
                instance=serializer.instance,
                action=AuditAction.UPDATE,
                changes=changes,
                source="api",
            )


class MovementViewSet(LocationScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Staff: the append-only movement ledger."""

    scope_paths = ("stock__location",)
    queryset = StockMovement.objects.select_related("stock__variant", "stock__location", "user")
    serializer_class = MovementOutput
    filterset_class = MovementFilter


class ReservationSerializer(serializers.ModelSerializer):
    sku = serializers.CharField(source="stock.variant.sku", read_only=True)
    location = serializers.CharField(source="stock.location.code", read_only=True)
    channel = serializers.CharField(source="channel.code", read_only=True, default=None)

    class Meta:
        model = Reservation
        fields = ["id", "sku", "location", "quantity", "kind", "channel", "reference",
                  "expires_at", "created_at"]  # fmt: skip
        read_only_fields = fields


class ReservationViewSet(LocationScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Staff: open reservations (order lines and cart holds); release one by hand."""

    scope_paths = ("stock__location",)
    queryset = Reservation.objects.select_related(
        "stock__variant", "stock__location", "channel"
    ).order_by("-id")
    serializer_class = ReservationSerializer
    filterset_class = ReservationFilter

    @extend_schema(request=None, responses={204: None})
    @action(detail=True, methods=["post"])
    def release(self, request, pk=None):
        """Release by hand; a reservation an order holds goes back by cancelling the order."""
        reservation = self.get_object()
        if selectors.reservation_in_use(reservation):
            raise ReservationInUse(reference=reservation.reference)
        services.reservation_release(reservations=[reservation], user=request.user)
        audit_record(
            user=request.user,
            instance=reservation.stock,
            object_repr=f"{reservation.stock.variant.sku} @ {reservation.stock.location.code}",
            action=AuditAction.OPERATION,
            operation="reservation_release",
            changes={
                "reserved": [reservation.quantity, 0],
                "reference": [reservation.reference, None],
            },
            source="api",
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- staff: operations ----------------------------------------------------------------------


class ReceiptApi(APIView):
    """Staff: goods received at a location (one RECEIPT movement per line)."""

    staff_permissions = ["inventory.add_stockmovement"]

    class ReceiptInput(serializers.Serializer):
        location = serializers.CharField()
        reference = serializers.CharField(max_length=120)
        note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
        lines = LineInput(many=True, allow_empty=False)

    @extend_schema(request=ReceiptInput, responses={201: MovementOutput(many=True)})
    def post(self, request):
        data = self._validated(request)
        movements = services.stock_receive(
            location_id=_location(data["location"], user=request.user).pk,
            lines=_stock_lines(data["lines"]),
            reference=data["reference"],
            note=data["note"],
            user=request.user,
        )
        _audit_movements(request, movements)
        return _movements_response(movements)

    def _validated(self, request) -> dict:
        payload = self.ReceiptInput(data=request.data)
        payload.is_valid(raise_exception=True)
        return payload.validated_data


class AdjustmentApi(APIView):
    """Staff: correct on_hand up or down with a reason."""

    staff_permissions = ["inventory.add_stockmovement", "inventory.change_stock"]

    class AdjustmentInput(serializers.Serializer):
        location = serializers.CharField()
        sku = serializers.CharField(max_length=64)
        quantity = serializers.IntegerField(help_text="Signed change of on_hand, not 0.")
        note = serializers.CharField(max_length=255, help_text="The reason.")
        reference = serializers.CharField(
            max_length=120, required=False, default="", allow_blank=True
        )

    @extend_schema(request=AdjustmentInput, responses={201: MovementOutput(many=True)})
    def post(self, request):
        payload = self.AdjustmentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        movement = services.stock_adjust(
            variant_id=_variant_ids([data["sku"]], field="sku")[0],
            location_id=_location(data["location"], user=request.user).pk,
            quantity=data["quantity"],
            note=data["note"],
            reference=data["reference"],
            user=request.user,
        )
        _audit_movements(request, [movement])
        return _movements_response([movement])


class WriteOffApi(APIView):
    """Staff: write off damaged units (a DAMAGE movement)."""

    staff_permissions = ["inventory.add_stockmovement", "inventory.change_stock"]

    class WriteOffInput(serializers.Serializer):
        location = serializers.CharField()
        sku = serializers.CharField(max_length=64)
        quantity = serializers.IntegerField()
        note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
        reference = serializers.CharField(
            max_length=120, required=False, default="", allow_blank=True
        )

    @extend_schema(request=WriteOffInput, responses={201: MovementOutput(many=True)})
    def post(self, request):
        payload = self.WriteOffInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        movement = services.stock_write_off(
            variant_id=_variant_ids([data["sku"]], field="sku")[0],
            location_id=_location(data["location"], user=request.user).pk,
            quantity=data["quantity"],
            note=data["note"],
            reference=data["reference"],
            user=request.user,
        )
        _audit_movements(request, [movement])
        return _movements_response([movement])


class CountLineOutput(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    expected = serializers.IntegerField()
    counted = serializers.IntegerField()
    difference = serializers.IntegerField()


class CountOutput(serializers.ModelSerializer):
    location = serializers.CharField(source="location.code")
    lines = CountLineOutput(many=True)

    class Meta:
        model = StockCount
        fields = ["id", "location", "reference", "note", "created_at", "lines"]
        read_only_fields = fields


class StockCountViewSet(
    LocationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """Staff: cycle counts. POST the counted quantities; the differences are booked."""

    queryset = StockCount.objects.select_related("location").prefetch_related("lines__variant")
    serializer_class = CountOutput
    filterset_fields = {"location__code": ["exact"]}

    class CountLineInput(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        counted = serializers.IntegerField()

    class CountInput(serializers.Serializer):
        location = serializers.CharField()
        reference = serializers.CharField(
            max_length=120, required=False, default="", allow_blank=True
        )
        note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
        lines = serializers.ListField(child=serializers.DictField(), allow_empty=False)

    @extend_schema(request=CountInput, responses={201: CountOutput})
    def create(self, request):
        payload = self.CountInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        lines = self.CountLineInput(data=data["lines"], many=True)
        if not lines.is_valid():
            raise serializers.ValidationError({"lines": lines.errors})
        rows = lines.validated_data
        ids = _variant_ids([row["sku"] for row in rows])
        count = services.stock_count_record(
            location_id=_location(data["location"], user=request.user).pk,
            lines=[
                services.CountLine(variant_id=vid, counted=row["counted"])
                for vid, row in zip(ids, rows, strict=True)
            ],
            reference=data["reference"],
            note=data["note"],
            user=request.user,
        )
        count = self.get_queryset().get(pk=count.pk)
        audit_record(
            user=request.user,
            instance=count,
            action=AuditAction.OPERATION,
            operation="count",
            source="api",
            changes={line.variant.sku: [line.expected, line.counted] for line in count.lines.all()},
        )
        return Response(CountOutput(count).data, status=status.HTTP_201_CREATED)


class TransferLineOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="variant.sku")
    outstanding = serializers.IntegerField()

    class Meta:
        model = TransferLine
        fields = ["sku", "quantity", "quantity_received", "outstanding"]
        read_only_fields = fields


class TransferOutput(serializers.ModelSerializer):
    source = serializers.CharField(source="source.code")
    destination = serializers.CharField(source="destination.code")
    lines = TransferLineOutput(many=True)

    class Meta:
        model = Transfer
        fields = ["id", "source", "destination", "status", "reference", "note", "created_at",
                  "shipped_at", "received_at", "lines"]  # fmt: skip
        read_only_fields = fields


class TransferViewSet(
    LocationScopedMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
    mixins.CreateModelMixin, viewsets.GenericViewSet,
):  # fmt: skip
    """Staff: transfers between locations. Create a draft, then ship, receive (in parts if need
    be), close short, or cancel a draft."""

    queryset = Transfer.objects.select_related("source", "destination").prefetch_related(
        Prefetch("lines", queryset=TransferLine.objects.select_related("variant"))
    )
    serializer_class = TransferOutput
    filterset_class = TransferFilter
    scope_paths = ("source", "destination")

    class TransferInput(serializers.Serializer):
        source = serializers.CharField()
        destination = serializers.CharField()
        reference = serializers.CharField(
            max_length=120, required=False, default="", allow_blank=True
        )
        note = serializers.CharField(max_length=255, required=False, default="", allow_blank=True)
        lines = LineInput(many=True, allow_empty=False)

    class TransferReceiveInput(serializers.Serializer):
        lines = LineInput(many=True, required=False, allow_empty=False)

    def _audited(self, before: str, transfer: Transfer, operation: str) -> Transfer:
        audit_record(
            user=self.request.user,
            instance=transfer,
            action=AuditAction.OPERATION,
            operation=operation,
            changes={"status": [before, transfer.status]},
            source="api",
        )
        return transfer

    def _out(self, transfer: Transfer, code=status.HTTP_200_OK) -> Response:
        return Response(TransferOutput(self.get_queryset().get(pk=transfer.pk)).data, status=code)

    @extend_schema(request=TransferInput, responses={201: TransferOutput})
    def create(self, request):
        payload = self.TransferInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        transfer = services.transfer_create(
            source_id=_location(data["source"], field="source", user=request.user).pk,
            destination_id=_location(data["destination"], field="destination").pk,
            lines=_stock_lines(data["lines"]),
            reference=data["reference"],
            note=data["note"],
            user=request.user,
        )
        return self._out(self._audited(None, transfer, "transfer_create"), status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: TransferOutput})
    @action(detail=True, methods=["post"])
    def ship(self, request, pk=None):
        transfer = self.get_object()
        before = transfer.status
        done = services.transfer_ship(transfer=transfer, user=request.user)
        return self._out(self._audited(before, done, "transfer_ship"))

    @extend_schema(request=TransferReceiveInput, responses={200: TransferOutput})
    @action(detail=True, methods=["post"])
    def receive(self, request, pk=None):
        payload = self.TransferReceiveInput(data=request.data)
        payload.is_valid(raise_exception=True)
        lines = payload.validated_data.get("lines")
        transfer = self.get_object()
        before = transfer.status
        transfer = services.transfer_receive(
            transfer=transfer,
            lines=_stock_lines(lines) if lines else None,
            user=request.user,
        )
        return self._out(self._audited(before, transfer, "transfer_receive"))

    @extend_schema(request=None, responses={200: TransferOutput})
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        transfer = self.get_object()
        before = transfer.status
        done = services.transfer_close(transfer=transfer, user=request.user)
        return self._out(self._audited(before, done, "transfer_close"))

    @extend_schema(request=None, responses={200: TransferOutput})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        transfer = self.get_object()
        before = transfer.status
        done = services.transfer_cancel(transfer=transfer, user=request.user)
        return self._out(self._audited(before, done, "transfer_cancel"))


class LowStockAlertOutput(serializers.ModelSerializer):
    sku = serializers.CharField(source="stock.variant.sku")
    location = serializers.CharField(source="stock.location.code")

    class Meta:
        model = LowStockAlert
        fields = ["id", "sku", "location", "available", "incoming", "reorder_point",
                  "detected_at", "resolved_at"]  # fmt: skip
        read_only_fields = fields


class LowStockAlertViewSet(LocationScopedMixin, viewsets.ReadOnlyModelViewSet):
    """Staff: what fell to its reorder point (found by the low-stock task; `open=true` for
    the ones not yet recovered)."""

    queryset = LowStockAlert.objects.select_related("stock__variant", "stock__location")
    serializer_class = LowStockAlertOutput
    scope_paths = ("stock__location",)
    filterset_class = LowStockAlertFilter
