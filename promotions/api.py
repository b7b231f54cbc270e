"""Quote API (`POST /api/v1/quotes/`), staff promotions and voucher codes, and the report."""

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog.models import Category, Product, Variant
from customers.models import Customer
from omni.audit import AuditAction, audit_diff, audit_record, audit_record_many, audit_snapshot
from omni.errors import InvalidInput, NotFound
from omni.models import Channel
from omni.permissions import IsChannelOrStaff, is_channel_request, request_channel
from promotions import customer_terms
from promotions.models import Promotion, Voucher
from promotions.money import quantize
from promotions.pricing import QuoteLineInput, quote, variant_ids_for_skus
from promotions.selectors import promotion_report
from promotions.services import promotion_save, voucher_batch_create, voucher_create

MAX_LINES = 200


class QuoteInput(serializers.Serializer):
    class Line(serializers.Serializer):
        sku = serializers.CharField(max_length=64)
        quantity = serializers.IntegerField(min_value=1, max_value=100_000)

    class CustomerRef(serializers.Serializer):
        email = serializers.EmailField(required=False)
        id = serializers.IntegerField(required=False, help_text="Staff only.")

        def validate(self, attrs):
            if not attrs:
                raise serializers.ValidationError("Give an email (or, for staff, an id).")
            return attrs

    lines = serializers.ListField(child=Line(), allow_empty=False, max_length=MAX_LINES)
    customer = CustomerRef(required=False, allow_null=True)
    voucher_code = serializers.CharField(
        max_length=64, required=False, allow_blank=True, allow_null=True
    )
    loyalty_points = serializers.IntegerField(min_value=0, required=False, default=0)


class QuoteOutput(serializers.Serializer):
    """The quote as stored on orders (documentation of `Quote.as_dict()`; amounts are strings
    with the currency's decimals)."""

    class Line(serializers.Serializer):
        class Discount(serializers.Serializer):
            source = serializers.ChoiceField(choices=["promotion", "voucher", "loyalty"])
            promotion_id = serializers.IntegerField(allow_null=True)
            voucher_code = serializers.CharField(allow_blank=True)
            name = serializers.CharField()
            amount = serializers.DecimalField(max_digits=14, decimal_places=3)

        variant_id = serializers.IntegerField()
        sku = serializers.CharField()
        quantity = serializers.IntegerField()
        unit_price = serializers.DecimalField(max_digits=14, decimal_places=3)
        discounts = Discount(many=True)
        line_discount = serializers.DecimalField(max_digits=14, decimal_places=3)
        line_total = serializers.DecimalField(max_digits=14, decimal_places=3)
        final_unit_price = serializers.DecimalField(max_digits=14, decimal_places=3)

    class Applied(serializers.Serializer):
        promotion_id = serializers.IntegerField(
            allow_null=True, help_text="None for the customer's loyalty tier benefit."
        )
        name = serializers.CharField()
        source = serializers.ChoiceField(choices=["promotion", "voucher"])
        voucher_code = serializers.CharField(allow_blank=True)
        amount = serializers.DecimalField(max_digits=14, decimal_places=3)
        free_shipping = serializers.BooleanField()

    channel_id = serializers.IntegerField()
    currency = serializers.CharField()
    customer_id = serializers.IntegerField(allow_null=True)
    lines = Line(many=True)
    subtotal = serializers.DecimalField(max_digits=14, decimal_places=3)
    discount_total = serializers.DecimalField(max_digits=14, decimal_places=3)
    loyalty_points = serializers.IntegerField(help_text="Points used (may be fewer than asked).")
    loyalty_discount = serializers.DecimalField(max_digits=14, decimal_places=3)
    total = serializers.DecimalField(max_digits=14, decimal_places=3)
    free_shipping = serializers.BooleanField()
    voucher_code = serializers.CharField(allow_null=True)
    promotions = Applied(many=True)
    quoted_at = serializers.DateTimeField()


class QuoteView(APIView):
    """Price a basket in the caller's channel: per line the listing price, every discount with
    the promotion or voucher that gave it, and totals; the figures an order placed now gets."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "orders"

    @extend_schema(request=QuoteInput, responses={200: QuoteOutput})
    def post(self, request):
        channel = request_channel(request)
        data = QuoteInput(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        skus = [line["sku"] for line in params["lines"]]
        ids = variant_ids_for_skus(skus=skus)
        for index, sku in enumerate(skus):
            if sku not in ids:
                raise InvalidInput(
                    f"Unknown SKU {sku!r}.", code="unknown_sku", field=f"lines.{index}.sku"
                )
        customer = self._customer(request, channel, params.get("customer"))
        result = quote(
            channel=channel,
            customer=customer,
            lines=[QuoteLineInput(ids[line["sku"]], line["quantity"]) for line in params["lines"]],
            voucher_code=params.get("voucher_code") or None,
            loyalty_points=params["loyalty_points"],
        )
        return Response(result.as_dict())

    @staticmethod
    def _customer(request, channel, ref):
        if not ref:
            return None
        if "id" in ref:
            if is_channel_request(request):
                raise InvalidInput(
                    "Storefronts name the customer by email.",
                    code="customer_id_staff_only",
                    field="customer.id",
                )
            customer = Customer.objects.filter(pk=ref["id"]).first()
            if customer is None:
                raise NotFound("No such customer.", code="customer_not_found", field="customer.id")
            return customer
        return customer_terms.customer_by_email(email=ref["email"])


class ReportFilter(serializers.Serializer):
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), required=False
    )
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


def _money(amount, currency: str) -> str:
    """In the currency's precision (a promotion without uses has no currency: "0")."""
    return f"{quantize(amount, currency):f}" if currency else "0"


class PromotionReportView(APIView):
    """Staff: per promotion and currency, orders that used it, discount given and revenue;
    optionally for one channel (`?channel=code`) and a period (`?since=...&until=...`)."""

    staff_permissions = ["promotions.view_promotion"]

    @extend_schema(parameters=[ReportFilter], responses={200: dict})
    def get(self, request):
        params = ReportFilter(data=request.query_params)
        params.is_valid(raise_exception=True)
        rows = promotion_report(**params.validated_data)
        return Response(
            {
                "results": [
                    {
                        "promotion_id": r.promotion_id,
                        "name": r.name,
                        "kind": r.kind,
                        "active": r.active,
                        "currency": r.currency,
                        "uses": r.uses,
                        "discount": _money(r.discount, r.currency),
                        "revenue": _money(r.revenue, r.currency),
                        "order_revenue": _money(r.order_revenue, r.currency),
                    }
                    for r in rows
                ]
            }
        )


class PromotionSerializer(serializers.ModelSerializer):
    channels = serializers.SlugRelatedField(
        slug_field="code", many=True, required=False, queryset=Channel.objects.all()
    )
    products = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Product.objects.all()
    )
    variants = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Variant.objects.all()
    )
    categories = serializers.PrimaryKeyRelatedField(
        many=True, required=False, queryset=Category.objects.all()
    )
    brands = serializers.ListField(child=serializers.CharField(max_length=120), required=False)
    customer_tiers = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False
    )
    customer_segments = serializers.ListField(
        child=serializers.CharField(max_length=32), required=False
    )

    class Meta:
        model = Promotion
        fields = [
            "id",
            "name",
            "description",
            "kind",
            "discount_type",
            "value",
            "trigger",
            "active",
            "starts_at",
            "ends_at",
            "priority",
            "exclusive",
            "currency",
            "min_spend",
            "buy_quantity",
            "get_quantity",
            "bundle_quantity",
            "bundle_price",
            "products",
            "variants",
            "categories",
            "brands",
            "channels",
            "customer_tiers",
            "customer_segments",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]
        # Window and rule checks run in promotion_save (model.clean), one place for all callers.
        validators: list = []


RELATIONS = ("products", "variants", "categories", "channels")


class VoucherSerializer(serializers.ModelSerializer):
    class Meta:
        model = Voucher
        fields = [
            "id",
            "code",
            "batch",
            "active",
            "valid_from",
            "valid_until",
            "usage_limit",
            "per_customer_limit",
            "times_used",
            "created_at",
        ]
        read_only_fields = fields


class VoucherCreateInput(serializers.Serializer):
    code = serializers.CharField(max_length=64, required=False)
    prefix = serializers.CharField(max_length=40, required=False)
    count = serializers.IntegerField(min_value=1, max_value=10_000, required=False)
    usage_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    per_customer_limit = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    valid_from = serializers.DateTimeField(required=False, allow_null=True)
    valid_until = serializers.DateTimeField(required=False, allow_null=True)

    def validate(self, attrs):
        if ("code" in attrs) == ("prefix" in attrs):
            raise serializers.ValidationError(
                "Give either a code, or a prefix and a count for a batch.", code="code_or_prefix"
            )
        if "prefix" in attrs and "count" not in attrs:
            raise serializers.ValidationError({"count": "A batch needs a count."})
        return attrs


def _promotion_snapshot(promotion: Promotion) -> dict:
    """Fields and targets of a promotion (many-to-many as sorted ids; fresh reads, so a
    prefetched instance shows what was saved)."""
    values = audit_snapshot(promotion)
    for name in RELATIONS:
        values[name] = sorted(getattr(promotion, name).values_list("pk", flat=True))
    return values


class PromotionViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff: promotions (deactivate with `active: false`; rows are kept for the report), and
    their voucher codes. Every change goes through promotion_save, which validates the rule and
    invalidates the channels' cached rules."""

    serializer_class = PromotionSerializer
    queryset = Promotion.objects.prefetch_related("products", "variants", "categories", "channels")
    filterset_fields = ["kind", "trigger", "active"]

    def perform_create(self, serializer):
        serializer.instance = self._save(None, serializer.validated_data)
        after = _promotion_snapshot(serializer.instance)
        audit_record(
            user=self.request.user,
            instance=serializer.instance,
            source="api",
            action=AuditAction.CREATE,
            changes=audit_diff({}, after),
        )

    def perform_update(self, serializer):
        before = _promotion_snapshot(serializer.instance)
        serializer.instance = self._save(serializer.instance, serializer.validated_data)
        changes = audit_diff(before, _promotion_snapshot(serializer.instance))
        if changes:
            audit_record(
                user=self.request.user,
                instance=serializer.instance,
                source="api",
                action=AuditAction.UPDATE,
                changes=changes,
            )

    @staticmethod
    def _save(promotion, data):
        fields = {k: v for k, v in data.items() if k not in RELATIONS}
        relations = {k: data[k] for k in RELATIONS if k in data}
        return promotion_save(promotion=promotion, fields=fields, **relations)

    @extend_schema(methods=["GET"], request=None, responses={200: VoucherSerializer(many=True)})
    @extend_schema(
        methods=["POST"], request=VoucherCreateInput, responses={201: VoucherSerializer(many=True)}
    )
    @action(detail=True, methods=["get", "post"])
    def vouchers(self, request, pk=None):
        """GET: the promotion's codes (paginated). POST: one code, or a batch `PREFIX-XXXXXXXX`."""
        promotion = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(promotion.vouchers.order_by("code"))
            return self.get_paginated_response(VoucherSerializer(page, many=True).data)
        data = VoucherCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        params = dict(data.validated_data)
        if "code" in params:
            created = [voucher_create(promotion=promotion, **params)]
        else:
            created = voucher_batch_create(promotion=promotion, **params)
        audit_record_many(
            user=request.user,
            action=AuditAction.CREATE,
            model=Voucher,
            source="api",
            items=[(v.pk, v.code, audit_diff({}, audit_snapshot(v))) for v in created],
        )
        return Response(VoucherSerializer(created, many=True).data, status=status.HTTP_201_CREATED)
