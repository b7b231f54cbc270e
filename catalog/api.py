"""Catalog API: the storefront product list/detail of a channel, and staff management of
categories, products, variants and listings (with bulk upsert of listings by SKU)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from catalog import filters, money, selectors, services
from catalog.models import Category, Listing, Product, Variant
from catalog.pagination import StorefrontPagination
from catalog.storefront_json import amount_or_none, product_payload
from omni.audit import AuditAction, audit_diff, audit_record, audit_record_many, audit_snapshot
from omni.models import Channel
from omni.permissions import IsChannelOrStaff, request_channel

# --- storefront ---------------------------------------------------------------------------


class StorefrontCategorySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    path = serializers.CharField()


class StorefrontVariantSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    barcode = serializers.CharField(allow_null=True)
    name = serializers.CharField()
    options = serializers.DictField(child=serializers.CharField())
    weight_grams = serializers.IntegerField(allow_null=True)
    price = serializers.DecimalField(max_digits=14, decimal_places=3)
    compare_at_price = serializers.DecimalField(max_digits=14, decimal_places=3, allow_null=True)
    currency = serializers.CharField()
    available = serializers.IntegerField()
    in_stock = serializers.BooleanField()


class StorefrontProductSerializer(serializers.Serializer):
    """Documents `storefront_json.product_payload` (prices are strings with the currency's
    decimals)."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    description = serializers.CharField()
    brand = serializers.CharField()
    category = StorefrontCategorySerializer(allow_null=True)
    attributes = serializers.JSONField()
    images = serializers.ListField(child=serializers.URLField())
    currency = serializers.CharField()
    price_from = serializers.DecimalField(max_digits=14, decimal_places=3, allow_null=True)
    available = serializers.IntegerField()
    in_stock = serializers.BooleanField()
    created_at = serializers.DateTimeField()
    variants = StorefrontVariantSerializer(many=True)


STOREFRONT_PARAMETERS = [
    OpenApiParameter("category", str, description="Category slug or id, with descendants."),
    OpenApiParameter("brand", str, description="Brand, or several comma-separated."),
    OpenApiParameter(
        "price_min",
        OpenApiTypes.DECIMAL,
        description="The product's price here (its cheapest variant) is at least this.",
    ),
    OpenApiParameter(
        "price_max",
        OpenApiTypes.DECIMAL,
        description="The product's price here (its cheapest variant) is at most this.",
    ),
    OpenApiParameter(
        "attr", str, many=True, description="key:value (value1|value2 for any); repeatable."
    ),
    OpenApiParameter("in_stock", bool, description="Only products available in the channel."),
    OpenApiParameter("search", str, description="Words in name, description or SKU."),
    OpenApiParameter(
        "ordering", str, enum=["name", "-name", "price", "-price", "newest", "oldest"]
    ),
    OpenApiParameter(
        "X-Channel", str, OpenApiParameter.HEADER, description="Staff only: the channel code."
    ),
]


class StorefrontProductListView(GenericAPIView):
    """Products published in the caller's channel, with variants, prices and availability."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "catalog"
    pagination_class = type(
        "StorefrontProductPagination",
        (StorefrontPagination,),
        {"values": selectors.STOREFRONT_PRODUCT_FIELDS},
    )
    filter_backends: list = []
    serializer_class = StorefrontProductSerializer

    @extend_schema(
        operation_id="storefront_products_list",
        parameters=STOREFRONT_PARAMETERS,
        responses=StorefrontProductSerializer(many=True),
    )
    def get(self, request):
        channel = request_channel(request)
        products = selectors.storefront_product_list(channel=channel, params=request.query_params)
        if selectors.storefront_page_in_sql(channel=channel):
            self.paginator.channel = channel
            self.paginator.scanned = filters.matches_by_scan(request.query_params)
            return self.paginator.get_page_json_response(self.paginate_queryset(products))
        rows = self.paginate_queryset(products)
        offers = selectors.storefront_offers(
            channel=channel, product_ids=[row["product_id"] for row in rows]
        )
        return self.get_paginated_response(
            [product_payload(row, offers.get(row["product_id"], []), channel) for row in rows]
        )


class StorefrontProductDetailView(APIView):
    """One product as the caller's channel shows it; 404 when not published there."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "catalog"

    @extend_schema(
        operation_id="storefront_products_retrieve",
        parameters=STOREFRONT_PARAMETERS[-1:],
        responses=StorefrontProductSerializer,
    )
    def get(self, request, product_id: int):
        channel = request_channel(request)
        row, offers = selectors.storefront_product_get(channel=channel, product_id=product_id)
        return Response(product_payload(row, offers, channel))


# --- staff --------------------------------------------------------------------------------


class CategorySerializer(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["id", "name", "slug", "parent", "path"]
        read_only_fields = ["id", "path"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}


class CategoryViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff: the category tree. Moving a category rewrites its descendants' paths."""

    queryset = Category.objects.select_related("parent")
    serializer_class = CategorySerializer
    filterset_fields = ["parent"]

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.category_create(
            name=data["name"], slug=data.get("slug"), parent=data.get("parent")
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.category_update(
            category=serializer.instance,
            name=data.get("name"),
            slug=data.get("slug"),
            **({"parent": data["parent"]} if "parent" in data else {}),
        )


class VariantSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Variant
        fields = ["id", "sku", "barcode", "name", "options", "weight_grams", "active"]


class ProductSerializer(serializers.ModelSerializer):
    """Staff view of a product. Attributes, images and slug are validated by the services
    (typed attributes, http(s) image URLs, unique slug)."""

    attributes = serializers.JSONField(required=False)
    images = serializers.JSONField(required=False)
    variants = VariantSummarySerializer(many=True, read_only=True)

    class Meta:
        model = Product
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "brand",
            "category",
            "attributes",
            "images",
            "active",
            "created_at",
            "updated_at",
            "variants",
        ]
        read_only_fields = ["id", "created_at", "updated_at", "variants"]
        extra_kwargs = {"slug": {"required": False, "validators": []}}


class ProductViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff: products (all channels, published or not)."""

    queryset = selectors.staff_product_queryset().prefetch_related("variants")
    serializer_class = ProductSerializer
    filterset_fields = ["brand", "category", "active"]

    def perform_create(self, serializer):
        serializer.instance = services.product_create(**serializer.validated_data)

    def perform_update(self, serializer):
        serializer.instance = services.product_update(
            product=serializer.instance, **serializer.validated_data
        )


class VariantSerializer(serializers.ModelSerializer):
    barcode = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    options = serializers.JSONField(required=False)

    class Meta:
        model = Variant
        fields = [
            "id",
            "product",
            "sku",
            "barcode",
            "name",
            "options",
            "weight_grams",
            "active",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]
        extra_kwargs = {"sku": {"validators": []}}

    def validate_product(self, product):
        if self.instance is not None and product != self.instance.product:
            raise serializers.ValidationError(
                "A variant cannot move to another product.", code="immutable"
            )
        return product


class VariantViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff: variants. SKU unique across the catalog, barcode (GTIN) unique when present."""

    queryset = selectors.staff_variant_queryset()
    serializer_class = VariantSerializer
    filterset_fields = ["product", "sku", "barcode", "active"]

    def perform_create(self, serializer):
        serializer.instance = services.variant_create(**serializer.validated_data)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        data.pop("product", None)
        serializer.instance = services.variant_update(variant=serializer.instance, **data)


class ListingSerializer(serializers.ModelSerializer):
    """A listing; prices are decimal strings with the channel currency's precision. On create
    `currency` may be omitted (it is the channel's); naming another currency is refused."""

    variant = serializers.PrimaryKeyRelatedField(queryset=Variant.objects.all(), required=False)
    sku = serializers.SlugRelatedField(
        source="variant_by_sku",
        slug_field="sku",
        queryset=Variant.objects.all(),
        required=False,
        write_only=True,
        help_text="Alternative to `variant`: the variant's SKU.",
    )
    channel = serializers.SlugRelatedField(slug_field="code", queryset=Channel.objects.all())
    currency = serializers.CharField(max_length=3, required=False)
    price = serializers.DecimalField(max_digits=14, decimal_places=3)
    compare_at_price = serializers.DecimalField(
        max_digits=14, decimal_places=3, required=False, allow_null=True
    )

    class Meta:
        model = Listing
        fields = [
            "id",
            "variant",
            "sku",
            "channel",
            "published",
            "price",
            "compare_at_price",
            "currency",
            "updated_at",
        ]
        read_only_fields = ["id", "updated_at"]
        validators: list = []

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["sku"] = instance.variant.sku
        data["price"] = money.format_amount(instance.price, instance.currency)
        data["compare_at_price"] = amount_or_none(instance.compare_at_price, instance.currency)
        return data

    def validate(self, attrs):
        by_sku = attrs.pop("variant_by_sku", None)
        if by_sku is not None:
            attrs["variant"] = by_sku
        if self.instance is None and "variant" not in attrs:
            raise serializers.ValidationError(
                {"variant": "Give the variant id or its sku."}, code="required"
            )
        if self.instance is not None:
            for name in ("variant", "channel"):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    raise serializers.ValidationError(
                        {name: "Create a new listing instead of moving this one."},
                        code="immutable",
                    )
        return attrs


LISTING_AUDIT_FIELDS = ["price", "compare_at_price", "published", "currency"]


class ListingViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff: listings. POST creates the (variant, channel) listing or replaces its price and
    flag if it exists (201 created / 200 replaced)."""

    queryset = selectors.staff_listing_queryset()
    serializer_class = ListingSerializer
    filterset_fields = ["channel__code", "published", "variant__sku", "variant"]

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        existing = Listing.objects.filter(variant=data["variant"], channel=data["channel"]).first()
        before = audit_snapshot(existing, LISTING_AUDIT_FIELDS) if existing else {}
        listing, created = services.listing_upsert(
            variant=data["variant"],
            channel=data["channel"],
            price=data["price"],
            compare_at_price=data.get("compare_at_price"),
            published=data.get("published"),
            currency=data.get("currency"),
        )
        audit_record(
            user=request.user,
            instance=listing,
            object_repr=f"{data['variant'].sku} in {data['channel'].code}",
            action=AuditAction.CREATE if created else AuditAction.UPDATE,
            changes=audit_diff(before, audit_snapshot(listing, LISTING_AUDIT_FIELDS)),
            source="api",
        )
        return Response(
            self.get_serializer(listing).data,
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )

    def perform_update(self, serializer):
        data = serializer.validated_data
        before = audit_snapshot(serializer.instance, LISTING_AUDIT_FIELDS)
        serializer.instance = services.listing_update(
            listing=serializer.instance,
            currency=data.get("currency"),
            **{key: data[key] for key in ("price", "compare_at_price", "published") if key in data},
        )
        changes = audit_diff(before, audit_snapshot(serializer.instance, LISTING_AUDIT_FIELDS))
        if changes:
            audit_record(
                user=self.request.user,
                instance=serializer.instance,
                action=AuditAction.UPDATE,
                changes=changes,
                source="api",
            )


class BulkListingRowSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    price = serializers.DecimalField(max_digits=14, decimal_places=3)
    compare_at_price = serializers.DecimalField(
        max_digits=14, decimal_places=3, required=False, allow_null=True
    )
    published = serializers.BooleanField(required=False, allow_null=True, default=None)
    currency = serializers.CharField(max_length=3, required=False)


class BulkListingUpsertSerializer(serializers.Serializer):
    channel = serializers.SlugRelatedField(slug_field="code", queryset=Channel.objects.all())
    rows = BulkListingRowSerializer(many=True, allow_empty=False, max_length=5000)


class BulkListingUpsertView(APIView):
    """Staff: create or replace many listings of one channel by SKU, all or nothing: if any
    row is invalid nothing is written and the 400 lists every bad row as `rows.<i>.<field>`."""

    staff_permissions = ["catalog.add_listing", "catalog.change_listing"]

    @extend_schema(
        request=BulkListingUpsertSerializer,
        responses=inline_serializer(
            "BulkListingUpsertResult",
            {
                "created": serializers.IntegerField(),
                "updated": serializers.IntegerField(),
                "skus": serializers.ListField(child=serializers.CharField()),
            },
        ),
    )
    def post(self, request):
        payload = BulkListingUpsertSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        channel = payload.validated_data["channel"]
        rows = payload.validated_data["rows"]
        fields = ["variant__sku", *LISTING_AUDIT_FIELDS[:3]]
        before = {
            row["variant__sku"]: row
            for row in Listing.objects.filter(
                channel=channel, variant__sku__in=[r["sku"] for r in rows]
            ).values(*fields)
        }
        result = services.listings_bulk_upsert(channel=channel, rows=rows)
        after = {
            row["variant__sku"]: row
            for row in Listing.objects.filter(channel=channel, variant__sku__in=result.skus).values(
                "pk", *fields
            )
        }
        audit_record_many(
            user=request.user,
            action=AuditAction.OPERATION,
            model=Listing,
            operation="bulk_upsert",
            source="api",
            items=[
                (
                    row.pop("pk"),
                    f"{sku} in {channel.code}",
                    audit_diff(before.get(sku, {}), row),
                )
                for sku, row in after.items()
            ],
        )
        return Response({"created": result.created, "updated": result.updated, "skus": result.skus})
