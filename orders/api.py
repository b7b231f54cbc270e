"""Orders API: storefront placement, reading, cancellation and returns (channel keys, scope
"orders"), and the staff API for fulfilment, cancellation, returns, re-allocation, the pickup
queue and POS / phone placement. Views validate, call one service or selector, serialize."""

from typing import ClassVar

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.utils.serializer_helpers import BindingDict
from rest_framework.views import APIView

from inventory.models import StockLocation
from inventory.scoping import location_check
from omni.audit import AuditAction, audit_record
from omni.errors import InvalidInput, NotFound
from omni.models import Channel
from omni.permissions import IsChannelOrStaff, is_channel_request, request_channel
from orders import selectors, services
from orders.models import (
    Fulfilment,
    FulfilmentMethod,
    Order,
    PaymentStatus,
    RefundMethod,
)

# --- input ----------------------------------------------------------------------------------


class AddressIn(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    region = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postcode = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.RegexField(r"^[A-Za-z]{2}$", max_length=2)
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-90, max_value=90, required=False
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=-180, max_value=180, required=False
    )

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        value["country"] = value["country"].upper()
        for key in ("latitude", "longitude"):
            if key in value:
                value[key] = str(value[key])
        return value


class CustomerIn(serializers.Serializer):
    email = serializers.CharField(max_length=254, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    account_id = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    first_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class LineIn(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    fulfilment_method = serializers.ChoiceField(
        choices=[FulfilmentMethod.SHIP, FulfilmentMethod.PICKUP, FulfilmentMethod.SHIP_FROM_STORE],
        required=False,
    )
    pickup_location = serializers.SlugField(max_length=40, required=False)


class FulfilmentIn(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=[FulfilmentMethod.SHIP, FulfilmentMethod.PICKUP, FulfilmentMethod.SHIP_FROM_STORE],
        default=FulfilmentMethod.SHIP,
    )
    pickup_location = serializers.SlugField(max_length=40, required=False)
    address = AddressIn(required=False)


class PaymentIn(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[PaymentStatus.PENDING, PaymentStatus.AUTHORIZED, PaymentStatus.PAID],
        default=PaymentStatus.PENDING,
    )
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0, required=False)


class FieldsBuiltOnce(serializers.Serializer):
    """An input serializer whose field tree (nested serializers included) is built once per
    class and shared by its instances, instead of deep-copied from the declared fields on
    every request: for the order body that copy cost more than validating it.

    Sound only for fields whose validation reads nothing from the serializer instance or its
    context (no `CurrentUserDefault`, no request-dependent validators): the shared fields are
    bound to a throwaway instance of the class, and validating keeps no state on them."""

    _built: ClassVar[dict[type, BindingDict]] = {}

    @property
    def fields(self) -> BindingDict:
        cls = type(self)
        fields = FieldsBuiltOnce._built.get(cls)
        if fields is None:
            holder = cls()
            fields = BindingDict(holder)
            for name, value in holder.get_fields().items():
                fields[name] = value
            FieldsBuiltOnce._built[cls] = fields
        return fields


class OrderPlaceIn(FieldsBuiltOnce):
    external_id = serializers.CharField(max_length=120, required=False, allow_blank=True)
    customer = CustomerIn(required=False)
    lines = LineIn(many=True, allow_empty=False, max_length=200)
    fulfilment = FulfilmentIn(required=False)
    billing_address = AddressIn(required=False)
    voucher_code = serializers.CharField(max_length=64, required=False, allow_blank=True)
    loyalty_points = serializers.IntegerField(min_value=0, required=False, default=0)
    payment = PaymentIn(required=False)
    note = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class StaffOrderPlaceIn(OrderPlaceIn):
    channel = serializers.SlugField(help_text="Store or call-centre channel code.")


class PosSaleIn(FieldsBuiltOnce):
    channel = serializers.SlugField()
    client_id = serializers.CharField(max_length=120, help_text="The till's id of the sale.")
    location = serializers.SlugField(help_text="Store the goods left from.")
    sold_at = serializers.DateTimeField()
    customer = CustomerIn(required=False)
    lines = LineIn(many=True, allow_empty=False, max_length=200)
    payment = PaymentIn(required=False)


# The placement service names its inputs flat; the API body nests some of them, so its errors
# name the field as the client sent it.
PLACE_INPUT_FIELDS = {
    "shipping_address": "fulfilment.address",
    "pickup_location": "fulfilment.pickup_location",
}


def order_place_from_body(**kwargs):
    """`services.order_place` for an `OrderPlaceIn` body (`place_kwargs`), its input errors
    naming the body's fields."""
    try:
        return services.order_place(**kwargs)
    except InvalidInput as error:
        field = error.field or ""
        if field in PLACE_INPUT_FIELDS:
            error.field = PLACE_INPUT_FIELDS[field]
        elif field.startswith("lines.") and field.endswith(".pickup_location_code"):
            error.field = field.removesuffix("_code")
        raise


def place_kwargs(data: dict) -> dict:
    fulfilment = data.get("fulfilment") or {}
    payment = data.get("payment")
    customer = data.get("customer")
    return {
        "lines": [
            services.LineInput(
                sku=line["sku"],
                quantity=line["quantity"],
                fulfilment_method=line.get("fulfilment_method"),
                pickup_location_code=line.get("pickup_location", ""),
            )
            for line in data["lines"]
        ],
        "customer": services.CustomerInput(**customer) if customer else None,
        "fulfilment_method": fulfilment.get("method", FulfilmentMethod.SHIP),
        "pickup_location_code": fulfilment.get("pickup_location", ""),
        "shipping_address": fulfilment.get("address") or {},
        "billing_address": data.get("billing_address") or {},
        "voucher_code": data.get("voucher_code") or None,
        "loyalty_points": data.get("loyalty_points", 0),
        "payment": services.PaymentInput(**payment) if payment else None,
        "external_id": data.get("external_id") or None,
        "note": data.get("note", ""),
    }


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    lines = serializers.ListField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_empty=False,
        help_text="Line ids to cancel; omit to cancel the whole order.",
    )


class ReturnLineIn(serializers.Serializer):
    line = serializers.IntegerField(min_value=1, required=False)
    sku = serializers.CharField(max_length=64, required=False)
    quantity = serializers.IntegerField(min_value=1)
    restock = serializers.BooleanField(default=True)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")

    def validate(self, attrs):
        if "line" not in attrs and "sku" not in attrs:
            raise serializers.ValidationError({"line": "Name the line (id) or its sku."})
        return attrs


class RefundIn(serializers.Serializer):
    method = serializers.ChoiceField(
        choices=RefundMethod.choices, default=RefundMethod.ORIGINAL_PAYMENT
    )
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")


class ReturnBodyIn(serializers.Serializer):
    location = serializers.SlugField(help_text="Code of the store or warehouse receiving it.")
    lines = ReturnLineIn(many=True, allow_empty=False)
    refund = RefundIn(required=False)
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")
    external_id = serializers.CharField(max_length=120, required=False, allow_blank=True)


class ReturnIn(ReturnBodyIn):
    order = serializers.CharField(max_length=32, help_text="Order number.")


class ExchangeIn(ReturnBodyIn):
    new_lines = LineIn(many=True, allow_empty=False)


def return_lines(order: Order, lines: list[dict]) -> list[services.ReturnLineInput]:
    by_sku = {line.sku: line.pk for line in order.lines.all()}
    out = []
    for index, item in enumerate(lines):
        line_id = item.get("line") or by_sku.get(item.get("sku", ""))
        if line_id is None:
            raise InvalidInput(
                f"No line with sku {item.get('sku')} on this order.",
                code="unknown_line",
                field=f"lines.{index}.sku",
            )
        out.append(
            services.ReturnLineInput(
                line_id=line_id,
                quantity=item["quantity"],
                restock=item["restock"],
                reason=item.get("reason", ""),
            )
        )
    return out


# --- output ---------------------------------------------------------------------------------


class AllocationOut(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    quantity = serializers.IntegerField()
    quantity_fulfilled = serializers.IntegerField()
    quantity_released = serializers.IntegerField()
    reserved = serializers.SerializerMethodField()
    strategy = serializers.CharField()
    reason = serializers.CharField()

    def get_reserved(self, obj) -> int:
        return obj.quantity_open if obj.reservation_id else 0


class LineOut(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()
    quantity = serializers.IntegerField()
    quantity_fulfilled = serializers.IntegerField()
    quantity_cancelled = serializers.IntegerField()
    quantity_returned = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=3)
    discounts = serializers.JSONField()
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=3)
    tax_amount = serializers.DecimalField(max_digits=14, decimal_places=3)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=3)
    fulfilment_method = serializers.CharField()
    pickup_location = serializers.CharField(
        source="pickup_location.code", default=None, allow_null=True
    )


class StaffLineOut(LineOut):
    allocations = AllocationOut(many=True)


class FulfilmentLineOut(serializers.Serializer):
    line = serializers.IntegerField(source="line_id")
    quantity = serializers.IntegerField()


class FulfilmentOut(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    method = serializers.CharField()
    status = serializers.CharField()
    carrier = serializers.CharField()
    tracking_number = serializers.CharField()
    created_at = serializers.DateTimeField()
    shipped_at = serializers.DateTimeField(allow_null=True)
    ready_at = serializers.DateTimeField(allow_null=True)
    collected_at = serializers.DateTimeField(allow_null=True)
    lines = FulfilmentLineOut(many=True)


class ReturnLineOut(serializers.Serializer):
    line = serializers.IntegerField(source="line_id")
    quantity = serializers.IntegerField()
    restock = serializers.BooleanField()
    refund_amount = serializers.DecimalField(max_digits=14, decimal_places=3)


class ReturnOut(serializers.Serializer):
    id = serializers.IntegerField()
    location = serializers.CharField(source="location.code")
    created_at = serializers.DateTimeField()
    lines = ReturnLineOut(many=True)


class RefundOut(serializers.Serializer):
    id = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=14, decimal_places=3)
    method = serializers.CharField()
    reference = serializers.CharField()
    return_id = serializers.IntegerField(source="return_record_id")
    created_at = serializers.DateTimeField()


class TimelineOut(serializers.Serializer):
    kind = serializers.CharField()
    message = serializers.CharField()
    actor = serializers.CharField()
    data = serializers.JSONField()
    at = serializers.DateTimeField(source="created_at")


class OrderHeadOut(serializers.Serializer):
    number = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    external_id = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    customer = serializers.SerializerMethodField()
    currency = serializers.CharField()
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=3)
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=3)
    shipping_total = serializers.DecimalField(max_digits=14, decimal_places=3)
    tax_total = serializers.DecimalField(max_digits=14, decimal_places=3)
    total = serializers.DecimalField(max_digits=14, decimal_places=3)
    refunded_total = serializers.DecimalField(max_digits=14, decimal_places=3)
    voucher_code = serializers.CharField()
    loyalty_points_redeemed = serializers.IntegerField()
    loyalty_points_earned = serializers.IntegerField()
    payment = serializers.SerializerMethodField()
    fulfilment_method = serializers.CharField()
    pickup_location = serializers.CharField(
        source="pickup_location.code", default=None, allow_null=True
    )
    shipping_address = serializers.JSONField()
    exchange_for_return = serializers.IntegerField(source="exchange_for_id", allow_null=True)

    def get_customer(self, obj) -> dict:
        return {
            "id": obj.customer_id,
            "name": obj.customer_name,
            "email": obj.customer_email,
            "phone": obj.customer_phone,
        }

    def get_payment(self, obj) -> dict:
        return {
            "status": obj.payment_status,
            "reference": obj.payment_reference,
            "amount": f"{obj.payment_amount:f}",
        }


class OrderOut(OrderHeadOut):
    lines = LineOut(many=True)
    fulfilments = FulfilmentOut(many=True)
    returns = ReturnOut(many=True)
    refunds = RefundOut(many=True)
    timeline = TimelineOut(many=True)


# Field instances that only format values (no binding, no state): render_placed formats money
# and times exactly as the OrderOut serializers do without building a serializer tree per order.
_MONEY = serializers.DecimalField(max_digits=14, decimal_places=3)
_TIME = serializers.DateTimeField()


def _code(location) -> str | None:
    return location.code if location is not None else None


def render_placed(placement: services.Placement) -> dict:
    """A fresh order exactly as OrderOut shows it, from what placement wrote (no read back).
    Plain dicts: building OrderOut's nested serializers cost more than the rest of the answer
    (tests compare the two)."""
    order, money, at = placement.order, _MONEY.to_representation, _TIME.to_representation
    return {
        "number": order.number,
        "channel": order.channel.code,
        "external_id": order.external_id,
        "status": order.status,
        "created_at": at(order.created_at),
        "customer": OrderHeadOut.get_customer(None, order),
        "currency": order.currency,
        "subtotal": money(order.subtotal),
        "discount_total": money(order.discount_total),
        "shipping_total": money(order.shipping_total),
        "tax_total": money(order.tax_total),
        "total": money(order.total),
        "refunded_total": money(order.refunded_total),
        "voucher_code": order.voucher_code,
        "loyalty_points_redeemed": order.loyalty_points_redeemed,
        "loyalty_points_earned": order.loyalty_points_earned,
        "payment": OrderHeadOut.get_payment(None, order),
        "fulfilment_method": order.fulfilment_method,
        "pickup_location": _code(order.pickup_location),
        "shipping_address": order.shipping_address,
        "exchange_for_return": order.exchange_for_id,
        "lines": [
            {
                "id": line.pk,
                "sku": line.sku,
                "name": line.name,
                "quantity": line.quantity,
                "quantity_fulfilled": line.quantity_fulfilled,
                "quantity_cancelled": line.quantity_cancelled,
                "quantity_returned": line.quantity_returned,
                "unit_price": money(line.unit_price),
                "discounts": line.discounts,
                "discount_total": money(line.discount_total),
                "tax_amount": money(line.tax_amount),
                "line_total": money(line.line_total),
                "fulfilment_method": line.fulfilment_method,
                "pickup_location": _code(line.pickup_location),
            }
            for line in placement.lines
        ],
        "fulfilments": [],
        "returns": [],
        "refunds": [],
        "timeline": [
            {
                "kind": event.kind,
                "message": event.message,
                "actor": event.actor,
                "data": event.data,
                "at": at(event.created_at),
            }
            for event in placement.events
        ],
    }


class StaffOrderOut(OrderOut):
    lines = StaffLineOut(many=True)
    sourcing_strategy = serializers.CharField()
    note = serializers.CharField()


class OrderSummaryOut(serializers.Serializer):
    number = serializers.CharField()
    channel = serializers.CharField(source="channel.code")
    external_id = serializers.CharField(allow_null=True)
    status = serializers.CharField()
    customer_name = serializers.CharField()
    customer_email = serializers.CharField()
    fulfilment_method = serializers.CharField()
    pickup_location = serializers.CharField(
        source="pickup_location.code", default=None, allow_null=True
    )
    currency = serializers.CharField()
    total = serializers.DecimalField(max_digits=14, decimal_places=3)
    payment_status = serializers.CharField()
    created_at = serializers.DateTimeField()


class PickupOut(OrderSummaryOut):
    lines = LineOut(many=True)
    pickup_fulfilments = FulfilmentOut(many=True)


def render(order: Order, *, staff: bool = False) -> dict:
    """The order as the API shows it, reloaded with all its detail."""
    fresh = selectors.order_get(number=order.number)
    return (StaffOrderOut if staff else OrderOut)(fresh).data


# --- storefront -----------------------------------------------------------------------------


class StorefrontMixin:
    permission_classes = [IsChannelOrStaff]
    required_scope = "orders"

    def order_for(self, request, number: str) -> Order:
        """Channel keys see only their channel's orders; staff see every order."""
        channel = request_channel(request) if is_channel_request(request) else None
        return selectors.order_get(number=number, channel=channel)


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    description="Replays of the same key return the first response; another body is a 422.",
)


class OrderCreateView(StorefrontMixin, APIView):
    """Place an order in the key's channel."""

    staff_permissions = ["orders.add_order"]

    @extend_schema(
        request=OrderPlaceIn,
        responses={201: OrderOut, 200: OrderOut},
        parameters=[IDEMPOTENCY_HEADER],
    )
    def post(self, request):
        channel = request_channel(request)
        payload = OrderPlaceIn(data=request.data)
        payload.is_valid(raise_exception=True)
        key = request.headers.get("Idempotency-Key", "").strip() or None
        if key and len(key) > 255:
            raise InvalidInput(
                "Idempotency-Key is at most 255 characters.",
                code="invalid",
                field="Idempotency-Key",
            )
        placement = order_place_from_body(
            channel=channel,
            idempotency_key=key,
            user=request.user,
            respond=render_placed,  # stored with the key before the commit
            **place_kwargs(payload.validated_data),
        )
        if placement.response_body is not None:
            return Response(placement.response_body, status=placement.response_status)
        # Placed before under this external id, or a key whose first answer was never stored.
        body = render(placement.order)
        if key:
            services.idempotency_response_store(
                channel=channel, key=key, status_code=status.HTTP_200_OK, body=body
            )
        return Response(body, status=status.HTTP_200_OK)


class OrderDetailView(StorefrontMixin, APIView):
    staff_permissions = ["orders.view_order"]

    @extend_schema(responses=OrderOut)
    def get(self, request, number: str):
        return Response(OrderOut(self.order_for(request, number)).data)


class OrderCancelView(StorefrontMixin, APIView):
    """Cancel the order (or some lines) while nothing has been fulfilled."""

    staff_permissions = ["orders.change_order"]

    @extend_schema(request=CancelIn, responses=OrderOut)
    def post(self, request, number: str):
        order = self.order_for(request, number)
        payload = CancelIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        if data.get("lines"):
            services.order_lines_cancel(
                order=order, line_ids=data["lines"], reason=data["reason"], user=request.user
            )
        else:
            services.order_cancel(order=order, reason=data["reason"], user=request.user)
        return Response(render(order))


class ReturnCreateView(StorefrontMixin, APIView):
    """Return lines of an order at any location; a refund record is created."""

    staff_permissions = ["orders.add_return"]

    @extend_schema(request=ReturnIn, responses={201: OrderOut, 200: OrderOut})
    def post(self, request):
        payload = ReturnIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        order = self.order_for(request, data["order"])
        refund = data.get("refund") or {}
        result = services.return_create(
            order=order,
            location_code=data["location"],
            lines=return_lines(order, data["lines"]),
            refund_method=refund.get("method", RefundMethod.ORIGINAL_PAYMENT),
            refund_reference=refund.get("reference", ""),
            reason=data["reason"],
            channel=request_channel(request) if is_channel_request(request) else None,
            external_id=data.get("external_id") or None,
            user=request.user,
        )
        body = render(order)
        body["return_id"] = result.return_record.pk
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)


# --- staff ----------------------------------------------------------------------------------


class FulfilLineIn(serializers.Serializer):
    line = serializers.IntegerField(min_value=1)
    quantity = serializers.IntegerField(min_value=1)


class FulfilmentCreateIn(serializers.Serializer):
    location = serializers.SlugField()
    lines = FulfilLineIn(many=True, required=False, allow_empty=False)


class ShipIn(serializers.Serializer):
    carrier = serializers.CharField(max_length=60)
    tracking_number = serializers.CharField(max_length=120, allow_blank=True, default="")


class ReallocateIn(serializers.Serializer):
    allocation = serializers.IntegerField(min_value=1)
    location = serializers.SlugField()
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class PaymentRecordIn(serializers.Serializer):
    status = serializers.ChoiceField(choices=[PaymentStatus.AUTHORIZED, PaymentStatus.PAID])
    reference = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    amount = serializers.DecimalField(max_digits=14, decimal_places=3, min_value=0, required=False)


FULFILMENT_STEPS = {
    "pack": services.fulfilment_pack,
    "ready": services.fulfilment_mark_ready,
    "collect": services.fulfilment_collect,
    "cancel": services.fulfilment_cancel,
}

ACTION_PERMISSIONS = {
    "list": ["orders.view_order"],
    "retrieve": ["orders.view_order"],
    "create": ["orders.add_order"],
    "pos_sale": ["orders.add_order"],
    "returns": ["orders.add_return"],
    "exchange": ["orders.add_return", "orders.add_order"],
    "pickup_queue": ["orders.view_fulfilment"],
    # Fulfilment steps are store work: store staff hold change_fulfilment, not change_order.
    "fulfilments": ["orders.change_fulfilment"],
    "ship": ["orders.change_fulfilment"],
    "fulfilment_step": ["orders.change_fulfilment"],
}


def channel_by_code(code: str) -> Channel:
    channel = Channel.objects.filter(code=code, active=True).first()
    if channel is None:
        raise NotFound(f"Unknown channel {code!r}.", code="unknown_channel", field="channel")
    return channel


class StaffOrderViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Staff: every channel's orders, their fulfilment, cancellation, returns and re-allocation,
    and placing orders for a customer at a till or on the phone."""

    lookup_field = "number"
    lookup_value_regex = "[^/]+"
    serializer_class = OrderSummaryOut
    queryset = Order.objects.none()

    def get_permissions(self):
        self.staff_permissions = ACTION_PERMISSIONS.get(
            self.action, ["orders.change_order", "orders.change_fulfilment"]
        )
        return super().get_permissions()

    filterset_class = selectors.OrderFilter

    def get_queryset(self):
        # Store staff list the orders of their store(s) only.
        return selectors.orders_in_scope(selectors.order_list(), self.request.user)

    @extend_schema(responses=StaffOrderOut)
    def retrieve(self, request, number=None):
        return Response(StaffOrderOut(selectors.order_get(number=number)).data)

    @extend_schema(request=StaffOrderPlaceIn, responses={201: StaffOrderOut})
    def create(self, request):
        """Place an order for a customer in a store or call-centre channel (same pricing)."""
        payload = StaffOrderPlaceIn(data=request.data)
        payload.is_valid(raise_exception=True)
        channel = channel_by_code(payload.validated_data["channel"])
        placement = order_place_from_body(
            channel=channel, user=request.user, **place_kwargs(payload.validated_data)
        )
        return Response(
            render(placement.order, staff=True),
            status=status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK,
        )

    @extend_schema(request=PosSaleIn, responses={201: StaffOrderOut})
    @action(detail=False, methods=["post"], url_path="pos-sales")
    def pos_sale(self, request):
        """Replay a till sale made offline: never refused for stock, deduplicated by the
        till's client id."""
        payload = PosSaleIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        channel = channel_by_code(data["channel"])
        placement = services.order_place(
            channel=channel,
            lines=[services.LineInput(line["sku"], line["quantity"]) for line in data["lines"]],
            customer=services.CustomerInput(**data["customer"]) if data.get("customer") else None,
            payment=services.PaymentInput(**data["payment"])
            if data.get("payment")
            else services.PaymentInput(status=PaymentStatus.PAID),
            external_id=data["client_id"],
            recorded_sale=services.RecordedSale(data["location"], data["sold_at"]),
            user=request.user,
        )
        return Response(
            render(placement.order, staff=True),
            status=status.HTTP_201_CREATED if placement.created else status.HTTP_200_OK,
        )

    def _order(self, number: str) -> Order:
        """The order to act on: for store staff, only one that touches their store(s)."""
        order = selectors.order_get(number=number)
        if not selectors.orders_in_scope(Order.objects.filter(pk=order.pk), self.request.user):
            raise NotFound(f"No order {number}.", code="order_not_found")
        return order

    def _check_location(self, code: str, field: str = "location") -> None:
        location_id = StockLocation.objects.filter(code=code).values_list("pk", flat=True).first()
        if location_id is not None:  # unknown codes are refused by the service
            location_check(self.request.user, location_id, field=field)

    def _check_fulfilment(self, order: Order, fulfilment_id) -> None:
        location_id = (
            Fulfilment.objects.filter(pk=int(fulfilment_id), order=order)
            .values_list("location_id", flat=True)
            .first()
        )
        if location_id is not None:
            location_check(self.request.user, location_id, field="fulfilment")

    def _audit(self, order: Order, status_before: str, operation: str, **changes) -> None:
        status_after = Order.objects.filter(pk=order.pk).values_list("status", flat=True).first()
        audit_record(
            user=self.request.user,
            instance=order,
            object_repr=order.number or str(order.pk),
            action=AuditAction.OPERATION,
            operation=operation,
            changes={"status": [status_before, status_after], **changes},
            source="api",
        )

    @extend_schema(request=FulfilmentCreateIn, responses={201: StaffOrderOut})
    @action(detail=True, methods=["post"])
    def fulfilments(self, request, number=None):
        order = self._order(number)
        payload = FulfilmentCreateIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        self._check_location(data["location"])
        before = order.status
        fulfilment = services.fulfilment_create(
            order=order,
            location_code=data["location"],
            lines=[services.FulfilLine(i["line"], i["quantity"]) for i in data.get("lines", [])],
            user=request.user,
        )
        self._audit(order, before, "fulfilment_create", fulfilment=[None, fulfilment.pk])
        body = render(order, staff=True)
        body["fulfilment_id"] = fulfilment.pk
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(request=ShipIn, responses=StaffOrderOut)
    @action(detail=True, methods=["post"], url_path=r"fulfilments/(?P<fulfilment_id>\d+)/ship")
    def ship(self, request, number=None, fulfilment_id=None):
        order = self._order(number)
        payload = ShipIn(data=request.data)
        payload.is_valid(raise_exception=True)
        self._check_fulfilment(order, fulfilment_id)
        before = order.status
        services.fulfilment_ship(
            order=order,
            fulfilment_id=int(fulfilment_id),
            user=request.user,
            **payload.validated_data,
        )
        self._audit(order, before, "fulfilment_ship", fulfilment=[None, int(fulfilment_id)])
        return Response(render(order, staff=True))

    @extend_schema(
        request=None, responses=StaffOrderOut, operation_id="staff_orders_fulfilment_step"
    )
    @action(
        detail=True,
        methods=["post"],
        url_path=r"fulfilments/(?P<fulfilment_id>\d+)/(?P<step>pack|ready|collect|cancel)",
    )
    def fulfilment_step(self, request, number=None, fulfilment_id=None, step=None):
        order = self._order(number)
        self._check_fulfilment(order, fulfilment_id)
        before = order.status
        FULFILMENT_STEPS[step](order=order, fulfilment_id=int(fulfilment_id), user=request.user)
        self._audit(order, before, f"fulfilment_{step}", fulfilment=[None, int(fulfilment_id)])
        return Response(render(order, staff=True))

    @extend_schema(request=CancelIn, responses=StaffOrderOut)
    @action(detail=True, methods=["post"])
    def cancel(self, request, number=None):
        order = self._order(number)
        payload = CancelIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        before = order.status
        if data.get("lines"):
            services.order_lines_cancel(
                order=order, line_ids=data["lines"], reason=data["reason"], user=request.user
            )
        else:
            services.order_cancel(order=order, reason=data["reason"], user=request.user)
        self._audit(order, before, "cancel", reason=[None, data["reason"]])
        return Response(render(order, staff=True))

    @extend_schema(request=ReturnBodyIn, responses={201: StaffOrderOut})
    @action(detail=True, methods=["post"])
    def returns(self, request, number=None):
        # Goods of any order may come back at the staff member's store (POS lookup).
        order = selectors.order_get(number=number)
        payload = ReturnBodyIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        self._check_location(data["location"])
        before = order.status
        refund = data.get("refund") or {}
        result = services.return_create(
            order=order,
            location_code=data["location"],
            lines=return_lines(order, data["lines"]),
            refund_method=refund.get("method", RefundMethod.ORIGINAL_PAYMENT),
            refund_reference=refund.get("reference", ""),
            reason=data["reason"],
            external_id=data.get("external_id") or None,
            user=request.user,
        )
        self._audit(order, before, "return", **{"return": [None, result.return_record.pk]})
        body = render(order, staff=True)
        body["return_id"] = result.return_record.pk
        return Response(body, status=status.HTTP_201_CREATED if result.created else 200)

    @extend_schema(request=ExchangeIn, responses={201: StaffOrderOut})
    @action(detail=True, methods=["post"])
    def exchange(self, request, number=None):
        """Return goods and place the replacement order, linked to the return."""
        order = selectors.order_get(number=number)
        payload = ExchangeIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        self._check_location(data["location"])
        before = order.status
        _, placement = services.exchange_create(
            order=order,
            location_code=data["location"],
            lines=return_lines(order, data["lines"]),
            new_lines=[
                services.LineInput(
                    line["sku"],
                    line["quantity"],
                    line.get("fulfilment_method"),
                    line.get("pickup_location", ""),
                )
                for line in data["new_lines"]
            ],
            reason=data["reason"],
            user=request.user,
        )
        self._audit(order, before, "exchange", replacement=[None, placement.order.number])
        return Response(render(placement.order, staff=True), status=status.HTTP_201_CREATED)

    @extend_schema(request=ReallocateIn, responses=StaffOrderOut)
    @action(detail=True, methods=["post"])
    def reallocate(self, request, number=None):
        order = self._order(number)
        payload = ReallocateIn(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        self._check_location(data["location"])
        before = order.status
        services.allocation_move(
            order=order,
            allocation_id=data["allocation"],
            location_code=data["location"],
            reason=data["reason"],
            user=request.user,
        )
        self._audit(order, before, "reallocate", allocation=[None, data["allocation"]],
                    location=[None, data["location"]])  # fmt: skip
        return Response(render(order, staff=True))

    @extend_schema(request=None, responses=StaffOrderOut)
    @action(detail=True, methods=["post"])
    def complete(self, request, number=None):
        order = self._order(number)
        before = order.status
        services.order_complete(order=order, user=request.user)
        self._audit(order, before, "complete")
        return Response(render(order, staff=True))

    @extend_schema(request=PaymentRecordIn, responses=StaffOrderOut)
    @action(detail=True, methods=["post"])
    def payment(self, request, number=None):
        order = self._order(number)
        payload = PaymentRecordIn(data=request.data)
        payload.is_valid(raise_exception=True)
        before = order.status
        services.order_payment_record(order=order, user=request.user, **payload.validated_data)
        self._audit(order, before, "payment", **{
            f"payment.{k}": [None, v] for k, v in payload.validated_data.items()})  # fmt: skip
        return Response(render(order, staff=True))

    @extend_schema(
        parameters=[OpenApiParameter("location", str, required=True)],
        responses=PickupOut(many=True),
    )
    @action(detail=False, methods=["get"], url_path="pickup-queue")
    def pickup_queue(self, request):
        """The pickup counter of one store: orders to pick, ready, not yet collected."""
        code = request.query_params.get("location", "")
        location = StockLocation.objects.filter(code=code).first()
        if location is None:
            raise InvalidInput(
                "Name the store: ?location=<code>.", code="unknown_location", field="location"
            )
        location_check(request.user, location.pk)
        page = self.paginate_queryset(selectors.pickup_queue(location=location))
        return self.get_paginated_response(PickupOut(page, many=True).data)
