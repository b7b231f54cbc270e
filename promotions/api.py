"""Quote API (`POST /api/v1/quotes/`) and the staff per-promotion report."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Customer
from omni.errors import InvalidInput, NotFound
from omni.permissions import IsChannelOrStaff, is_channel_request, request_channel
from promotions import customer_terms
from promotions.pricing import QuoteLineInput, quote, variant_ids_for_skus
from promotions.selectors import promotion_report

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


class QuoteView(APIView):
    """Price a basket in the caller's channel: per line the listing price, every discount with
    the promotion or voucher that gave it, and totals; the figures an order placed now gets."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "orders"

    @extend_schema(request=QuoteInput, responses={200: dict})
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
        return customer_terms.customer_by_email(channel=channel, email=ref["email"])


class PromotionReportView(APIView):
    """Staff: per promotion, orders that used it, discount given and revenue."""

    staff_permissions = ["promotions.view_promotion"]

    @extend_schema(responses={200: dict})
    def get(self, request):
        rows = promotion_report()
        return Response(
            {
                "results": [
                    {
                        "promotion_id": r.promotion_id,
                        "name": r.name,
                        "kind": r.kind,
                        "active": r.active,
                        "uses": r.uses,
                        "discount": f"{r.discount:f}",
                        "revenue": f"{r.revenue:f}",
                        "order_revenue": f"{r.order_revenue:f}",
                    }
                    for r in rows
                ]
            }
        )
