"""Customers API: the storefront lookup, and staff endpoints for profiles, merges, privacy,
consents and service cases. Views validate, call one service or selector and serialize."""

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import (
    CaseKind,
    CaseStatus,
    ConsentPurpose,
    ConsentRecord,
    Customer,
    IdentityKind,
    LoyaltyEntry,
    MergeRecord,
    ServiceCase,
)
from customers.selectors import customer_find, customer_profile, duplicate_candidates
from customers.services import (
    case_add_note,
    case_assign,
    case_open,
    case_set_status,
    consent_record,
    customer_erase,
    customer_export,
    customer_merge,
    customer_resolve,
    customer_unmerge,
    identity_add,
    loyalty_adjust,
)
from omni.audit import AuditAction, audit_record, audit_scrub
from omni.errors import InvalidInput, NotFound
from omni.models import Channel
from omni.permissions import IsChannelOrStaff, is_channel_request, request_channel

# --- Output shapes -----------------------------------------------------------------------------


class IdentityOutput(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    channel = serializers.CharField(allow_null=True)


class LoyaltyOutput(serializers.Serializer):
    balance = serializers.IntegerField()
    balance_value = serializers.DecimalField(max_digits=14, decimal_places=2)
    point_value = serializers.DecimalField(max_digits=8, decimal_places=4)
    tier = serializers.CharField(allow_null=True)
    tier_spend = serializers.DecimalField(max_digits=14, decimal_places=2)


class OrderOutput(serializers.Serializer):
    number = serializers.CharField()
    channel = serializers.CharField()
    status = serializers.CharField()
    placed_at = serializers.DateTimeField()
    total = serializers.DecimalField(max_digits=14, decimal_places=2)
    currency = serializers.CharField()
    items = serializers.IntegerField()
    returns = serializers.ListField(child=serializers.DictField())


class OpenCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()
    order_reference = serializers.CharField()
    created_at = serializers.DateTimeField()


class SuggestionOutput(serializers.Serializer):
    product_id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    score = serializers.FloatField()
    rank = serializers.IntegerField()


class ProfileOutput(serializers.Serializer):
    id = serializers.IntegerField()
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    created_at = serializers.DateTimeField()
    last_seen_at = serializers.DateTimeField(allow_null=True)
    erased = serializers.BooleanField()
    merged_into = serializers.IntegerField(allow_null=True)
    identities = IdentityOutput(many=True)
    loyalty = LoyaltyOutput()
    segment = serializers.CharField(allow_null=True)
    consents = serializers.DictField(child=serializers.BooleanField(allow_null=True))
    open_cases = OpenCaseOutput(many=True)
    orders = OrderOutput(many=True)
    suggestions = SuggestionOutput(
        many=True,
        help_text="Products the customer is likely to buy, from their purchases in every "
        "channel, best first; a channel key sees only products its channel publishes.",
    )


def profile_channel(request) -> Channel | None:
    """The channel whose listings limit the suggestions: a key's own channel; for staff the
    one they name (`X-Channel` header or `channel` parameter), else none (every product)."""
    if (
        is_channel_request(request)
        or request.headers.get("X-Channel")
        or request.query_params.get("channel")
    ):
        return request_channel(request)
    return None


# --- Storefront --------------------------------------------------------------------------------


class ConsentOutputShape(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    purpose = serializers.CharField()
    granted = serializers.BooleanField()
    source = serializers.CharField()
    recorded_at = serializers.DateTimeField()


class LookupInput(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=320)
    phone = serializers.CharField(required=False, allow_blank=True, max_length=64)


class CustomerLookupView(APIView):
    """The unified profile for an email or a phone: identities, loyalty balance and tier,
    consents, orders from every channel and suggested products (only those the key's channel
    publishes). Needs a key with the `customers` scope or staff with `customers.view_customer`.
    Phones without a country code are read in the channel's region (staff: the `X-Channel`
    channel's, if given, which also limits the suggestions)."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "customers"
    staff_permissions = ["customers.view_customer"]

    @extend_schema(
        parameters=[
            OpenApiParameter("email", str, description="Email address (either this or phone)"),
            OpenApiParameter("phone", str, description="Phone number (either this or email)"),
            OpenApiParameter(
                "channel", str, description="Staff: the channel acting (region, suggestions)"
            ),
        ],
        responses={200: ProfileOutput},
    )
    def get(self, request):
        params = LookupInput(data=request.query_params)
        params.is_valid(raise_exception=True)
        email = params.validated_data.get("email", "").strip()
        phone = params.validated_data.get("phone", "").strip()
        if bool(email) == bool(phone):
            raise InvalidInput(
                "Give exactly one of email or phone.", code="required", field="email"
            )
        channel = profile_channel(request)
        region = channel.phone_region if channel is not None else None
        customer = customer_find(email=email, phone=phone, region=region)
        if customer is None:
            raise NotFound("No customer has this identity.", code="customer_not_found")
        return Response(ProfileOutput(customer_profile(customer=customer, channel=channel)).data)


class StorefrontIdentityInput(serializers.Serializer):
    email = serializers.CharField(required=False, allow_blank=True, max_length=320, default="")
    phone = serializers.CharField(required=False, allow_blank=True, max_length=64, default="")
    account_id = serializers.CharField(required=False, allow_blank=True, max_length=254, default="")
    first_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")
    last_name = serializers.CharField(required=False, allow_blank=True, max_length=100, default="")


class StorefrontConsentInput(StorefrontIdentityInput):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    source = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class StorefrontCaseInput(StorefrontIdentityInput):
    kind = serializers.CharField(help_text=f"One of {', '.join(CaseKind.values)}.")
    subject = serializers.CharField(max_length=200)
    order_reference = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default=""
    )
    body = serializers.CharField(required=False, allow_blank=True, default="")


class StorefrontCaseOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    kind = serializers.CharField()
    subject = serializers.CharField()
    status = serializers.CharField()
    order_reference = serializers.CharField()
    created_at = serializers.DateTimeField()


def _storefront_customer(request, data) -> Customer:
    """The profile behind the identities a channel sent (created when new); 400 without one."""
    customer = customer_resolve(
        channel=request_channel(request),
        email=data["email"],
        phone=data["phone"],
        account_id=data["account_id"],
        first_name=data["first_name"],
        last_name=data["last_name"],
    )
    if customer is None:
        raise InvalidInput(
            "Identify the customer by email, phone or account_id.", code="required", field="email"
        )
    return customer


class StorefrontConsentView(APIView):
    """A channel records a consent given or withdrawn (sign-up checkbox, unsubscribe link,
    in-store form) for the customer it identifies; the latest record per purpose wins."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "customers"
    staff_permissions = ["customers.add_consentrecord"]

    @extend_schema(
        operation_id="storefront_customer_consent_record",
        request=StorefrontConsentInput,
        responses={201: ConsentOutputShape},
    )
    def post(self, request):
        payload = StorefrontConsentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = _storefront_customer(request, data)
        record = consent_record(
            customer=customer,
            purpose=data["purpose"],
            granted=data["granted"],
            channel=request_channel(request),
            source=data["source"],
            user=None if is_channel_request(request) else request.user,
        )
        return Response(ConsentOutputShape(record).data, status=status.HTTP_201_CREATED)


class StorefrontCaseView(APIView):
    """A channel raises a service case (inquiry, complaint, return request) for the customer it
    identifies, optionally about an order."""

    permission_classes = [IsChannelOrStaff]
    required_scope = "customers"
    staff_permissions = ["customers.add_servicecase"]

    @extend_schema(
        operation_id="storefront_customer_case_raise",
        request=StorefrontCaseInput,
        responses={201: StorefrontCaseOutput},
    )
    def post(self, request):
        payload = StorefrontCaseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        customer = _storefront_customer(request, data)
        case = case_open(
            customer=customer,
            kind=data["kind"],
            subject=data["subject"],
            channel=request_channel(request),
            order_reference=data["order_reference"],
            body=data["body"],
            user=None if is_channel_request(request) else request.user,
        )
        return Response(StorefrontCaseOutput(case).data, status=status.HTTP_201_CREATED)


# --- Staff: profiles ---------------------------------------------------------------------------


class CustomerListOutput(serializers.ModelSerializer):
    class Meta:
        model = Customer
        fields = [
            "id",
            "first_name",
            "last_name",
            "tier_code",
            "segment",
            "created_at",
            "last_seen_at",
            "merged_into",
            "erased_at",
        ]


class ConsentInput(serializers.Serializer):
    purpose = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), required=False, allow_null=True
    )
    source = serializers.CharField(required=False, allow_blank=True, max_length=120, default="")


class ConsentOutput(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)

    class Meta:
        model = ConsentRecord
        fields = ["id", "purpose", "granted", "channel", "source", "recorded_at", "recorded_by"]


class EraseInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class PrivacyRequestOutput(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    kind = serializers.CharField()
    reason = serializers.CharField()
    summary = serializers.DictField()
    created_at = serializers.DateTimeField()


class DuplicateGroupOutput(serializers.Serializer):
    reason = serializers.CharField()
    key = serializers.CharField()
    customer_ids = serializers.ListField(child=serializers.IntegerField())


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff: customer profiles (search by name, email or phone with `q`), their consents,
    privacy export and erasure, and duplicate candidates."""

    queryset = Customer.objects.all()
    serializer_class = CustomerListOutput
    filterset_fields = ["segment", "tier_code"]
    lookup_value_regex = r"\d+"
    staff_permissions: list[str] | None = None  # actions name theirs; default: model perms

    def get_queryset(self):
        queryset = super().get_queryset()
        term = self.request.query_params.get("q", "").strip()
        if term:
            queryset = queryset.filter(
                Q(first_name__icontains=term)
                | Q(last_name__icontains=term)
                | Q(identities__value__icontains=term.lower())
            ).distinct()
        return queryset

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "channel", str, description="Channel code: suggest only products it publishes"
            )
        ],
        responses={200: ProfileOutput},
    )
    def retrieve(self, request, pk=None):
        profile = customer_profile(customer=self.get_object(), channel=profile_channel(request))
        return Response(ProfileOutput(profile).data)

    @extend_schema(responses={200: DuplicateGroupOutput(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def duplicates(self, request):
        return Response(DuplicateGroupOutput(duplicate_candidates(), many=True).data)

    @extend_schema(responses={200: dict})
    @action(detail=True, methods=["get"], staff_permissions=["customers.export_customer"])
    def export(self, request, pk=None):
        customer = get_object_or_404(Customer, pk=pk)
        return Response(customer_export(customer=customer, user=request.user))

    @extend_schema(request=EraseInput, responses={200: PrivacyRequestOutput})
    @action(detail=True, methods=["post"], staff_permissions=["customers.erase_customer"])
    def erase(self, request, pk=None):
        customer = get_object_or_404(Customer, pk=pk)
        payload = EraseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        record = customer_erase(
            customer=customer, user=request.user, reason=payload.validated_data["reason"]
        )
        audit_scrub(model=Customer, object_id=customer.pk)
        audit_record(
            user=request.user,
            instance=customer,
            action=AuditAction.OPERATION,
            operation="erase",
            changes={"personal_data": ["held", "erased"]},
            source="api",
        )
        return Response(PrivacyRequestOutput(record).data)

    @extend_schema(methods=["GET"], request=None, responses={200: ConsentOutput(many=True)})
    @extend_schema(methods=["POST"], request=ConsentInput, responses={201: ConsentOutput})
    @action(
        detail=True,
        methods=["get", "post"],
        staff_permissions=["customers.view_customer", "customers.add_consentrecord"],
        pagination_class=None,
    )
    def consents(self, request, pk=None):
        customer = get_object_or_404(Customer, pk=pk)
        if request.method == "GET":
            records = ConsentRecord.objects.filter(customer=customer).select_related("channel")
            return Response(ConsentOutput(records, many=True).data)
        payload = ConsentInput(data=request.data)
        payload.is_valid(raise_exception=True)
        record = consent_record(customer=customer, user=request.user, **payload.validated_data)
        audit_record(
            user=request.user,
            instance=customer,
            action=AuditAction.OPERATION,
            operation="consent",
            source="api",
            changes={f"consent.{record.purpose}": [None, record.granted]},
        )
        return Response(ConsentOutput(record).data, status=status.HTTP_201_CREATED)


class LoyaltyEntryOutput(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = LoyaltyEntry
        fields = [
            "id",
            "kind",
            "points",
            "idempotency_key",
            "reference",
            "channel",
            "amount",
            "reverses",
            "expires_at",
            "note",
            "created_at",
        ]


class AdjustInput(serializers.Serializer):
    points = serializers.IntegerField(help_text="Positive: credit; negative: debit.")
    idempotency_key = serializers.CharField(max_length=255)
    note = serializers.CharField(max_length=200)


class IdentityInput(serializers.Serializer):
    kind = serializers.CharField(help_text=f"One of {', '.join(IdentityKind.values)}.")
    value = serializers.CharField(max_length=320)
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), required=False, allow_null=True
    )


class CustomerLedgerViewSet(viewsets.GenericViewSet):
    """Staff: a profile's points ledger (newest first), staff adjustments and identities."""

    queryset = Customer.objects.all()
    lookup_value_regex = r"\d+"
    staff_permissions: list[str] | None = None

    @extend_schema(responses={200: LoyaltyEntryOutput(many=True)})
    @action(detail=True, methods=["get"], staff_permissions=["customers.view_loyaltyentry"])
    def loyalty(self, request, pk=None):
        customer = get_object_or_404(Customer, pk=pk)
        entries = LoyaltyEntry.objects.filter(customer=customer).select_related("channel")
        page = self.paginate_queryset(entries)
        return self.get_paginated_response(LoyaltyEntryOutput(page, many=True).data)

    @extend_schema(request=AdjustInput, responses={201: LoyaltyEntryOutput})
    @action(
        detail=True,
        methods=["post"],
        url_path="loyalty/adjust",
        staff_permissions=["customers.add_loyaltyentry"],
    )
    def loyalty_adjust(self, request, pk=None):
        customer = get_object_or_404(Customer, pk=pk)
        payload = AdjustInput(data=request.data)
        payload.is_valid(raise_exception=True)
        entry = loyalty_adjust(customer=customer, user=request.user, **payload.validated_data)
        audit_record(
            user=request.user,
            instance=customer,
            action=AuditAction.OPERATION,
            operation="loyalty_adjust",
            source="api",
            changes={"loyalty_points": [None, entry.points], "note": [None, entry.note]},
        )
        return Response(LoyaltyEntryOutput(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=IdentityInput, responses={201: IdentityOutput})
    @action(detail=True, methods=["post"], staff_permissions=["customers.add_identity"])
    def identities(self, request, pk=None):
        customer = get_object_or_404(Customer, pk=pk)
        payload = IdentityInput(data=request.data)
        payload.is_valid(raise_exception=True)
        identity = identity_add(customer=customer, **payload.validated_data)
        audit_record(
            user=request.user,
            instance=customer,
            action=AuditAction.OPERATION,
            operation="identity_add",
            source="api",
            changes={f"identity.{identity.kind}": [None, identity.value]},
        )
        body = {
            "kind": identity.kind,
            "value": identity.value,
            "channel": identity.channel.code if identity.channel else None,
        }
        return Response(IdentityOutput(body).data, status=status.HTTP_201_CREATED)


# --- Staff: merges -----------------------------------------------------------------------------


class MergeInput(serializers.Serializer):
    survivor = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    merged = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())


class MergeOutput(serializers.ModelSerializer):
    moved_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = MergeRecord
        fields = [
            "id",
            "survivor",
            "merged",
            "merged_by",
            "merged_at",
            "moved",
            "moved_count",
            "undone_at",
            "undone_by",
        ]


class MergeViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff: merge two profiles (POST survivor + merged), list merges, undo one."""

    queryset = MergeRecord.objects.all()
    serializer_class = MergeOutput
    filterset_fields = ["survivor", "merged"]
    staff_permissions: list[str] | None = None

    def get_permissions(self):
        if self.request.method == "POST":
            self.staff_permissions = ["customers.merge_customer"]
        return super().get_permissions()

    @extend_schema(request=MergeInput, responses={201: MergeOutput})
    def create(self, request):
        payload = MergeInput(data=request.data)
        payload.is_valid(raise_exception=True)
        record = customer_merge(user=request.user, **payload.validated_data)
        audit_record(
            user=request.user,
            model=Customer,
            object_id=record.survivor_id,
            object_repr=f"Customer #{record.survivor_id}",
            action=AuditAction.OPERATION,
            operation="merge",
            source="api",
            changes={"merged": [None, record.merged_id], "rows_moved": [None, record.moved_count]},
        )
        return Response(MergeOutput(record).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: MergeOutput})
    @action(detail=True, methods=["post"])
    def undo(self, request, pk=None):
        record = customer_unmerge(record=self.get_object(), user=request.user)
        audit_record(
            user=request.user,
            model=Customer,
            object_id=record.survivor_id,
            object_repr=f"Customer #{record.survivor_id}",
            action=AuditAction.OPERATION,
            operation="unmerge",
            source="api",
            changes={"merged": [record.merged_id, None]},
        )
        return Response(MergeOutput(record).data)


# --- Staff: service cases ----------------------------------------------------------------------


class CaseEventOutput(serializers.Serializer):
    kind = serializers.CharField()
    body = serializers.CharField()
    from_status = serializers.CharField()
    to_status = serializers.CharField()
    author = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()


class CaseOutput(serializers.ModelSerializer):
    # Plain strings in the schema: enum names like "kind"/"status" collide across apps.
    kind = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True, allow_null=True)
    events = CaseEventOutput(many=True, read_only=True)

    class Meta:
        model = ServiceCase
        fields = [
            "id",
            "customer",
            "kind",
            "channel",
            "subject",
            "order_reference",
            "status",
            "assignee",
            "created_at",
            "updated_at",
            "closed_at",
            "events",
        ]


class CaseInput(serializers.Serializer):
    customer = serializers.PrimaryKeyRelatedField(queryset=Customer.objects.all())
    kind = serializers.CharField(help_text=f"One of {', '.join(CaseKind.values)}.")
    subject = serializers.CharField(max_length=200)
    channel = serializers.SlugRelatedField(
        slug_field="code", queryset=Channel.objects.all(), required=False, allow_null=True
    )
    order_reference = serializers.CharField(
        required=False, allow_blank=True, max_length=64, default=""
    )
    body = serializers.CharField(required=False, allow_blank=True, default="")


class NoteInput(serializers.Serializer):
    body = serializers.CharField()


class StatusInput(serializers.Serializer):
    status = serializers.CharField(help_text=f"One of {', '.join(CaseStatus.values)}.")
    note = serializers.CharField(required=False, allow_blank=True, default="")


class AssignInput(serializers.Serializer):
    assignee = serializers.PrimaryKeyRelatedField(
        queryset=get_user_model().objects.filter(is_staff=True, is_active=True), allow_null=True
    )


class CaseViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff: inquiries, complaints and return requests on profiles, with their timeline."""

    queryset = ServiceCase.objects.select_related("channel").prefetch_related("events__author")
    serializer_class = CaseOutput
    filterset_fields = ["customer", "kind", "status", "assignee", "order_reference"]
    staff_permissions: list[str] | None = None

    def get_permissions(self):
        if self.request.method == "POST":
            self.staff_permissions = ["customers.change_servicecase"]
            if self.action == "create":
                self.staff_permissions = ["customers.add_servicecase"]
        return super().get_permissions()

    def _respond(self, case, code=status.HTTP_200_OK):
        return Response(CaseOutput(self.get_queryset().get(pk=case.pk)).data, status=code)

    @extend_schema(request=CaseInput, responses={201: CaseOutput})
    def create(self, request):
        payload = CaseInput(data=request.data)
        payload.is_valid(raise_exception=True)
        case = case_open(user=request.user, **payload.validated_data)
        return self._respond(case, status.HTTP_201_CREATED)

    @extend_schema(request=NoteInput, responses={200: CaseOutput})
    @action(detail=True, methods=["post"])
    def notes(self, request, pk=None):
        payload = NoteInput(data=request.data)
        payload.is_valid(raise_exception=True)
        case = self.get_object()
        case_add_note(case=case, user=request.user, body=payload.validated_data["body"])
        return self._respond(case)

    @extend_schema(request=StatusInput, responses={200: CaseOutput})
    @action(detail=True, methods=["post"], url_path="status")
    def set_status(self, request, pk=None):
        payload = StatusInput(data=request.data)
        payload.is_valid(raise_exception=True)
        case = case_set_status(case=self.get_object(), user=request.user, **payload.validated_data)
        return self._respond(case)

    @extend_schema(request=AssignInput, responses={200: CaseOutput})
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        payload = AssignInput(data=request.data)
        payload.is_valid(raise_exception=True)
        case = case_assign(case=self.get_object(), user=request.user, **payload.validated_data)
        return self._respond(case)
