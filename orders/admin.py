"""Admin for orders: list with filters by channel, status, location and date; detail with
lines, allocations (and why they were chosen), fulfilments, returns, refunds and timeline;
actions through the services; the store pickup queue; staff placement of POS / phone orders."""

from django import forms
from django.contrib import admin, messages
from django.db.models import Q
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from inventory.models import StockLocation
from inventory.scoping import scope_queryset
from omni.admin_audit import AuditedAdminMixin
from omni.admin_confirm import confirm_action
from omni.errors import DomainError
from omni.models import Channel
from orders import admin_lookup, dashboard, selectors, services
from orders.admin_actions import denied_unless, order_action_audit
from orders.models import (
    ChannelOrderSettings,
    Fulfilment,
    FulfilmentMethod,
    Order,
    OrderLine,
    PaymentStatus,
    PostcodeArea,
    Refund,
    Return,
    TimelineEvent,
)


class LocationFilter(admin.SimpleListFilter):
    title = "location"
    parameter_name = "location"

    def lookups(self, request, model_admin):
        locations = scope_queryset(StockLocation.objects.filter(active=True), request.user, "pk")
        return [(loc.code, loc.name) for loc in locations]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        matching = Order.objects.filter(
            Q(lines__allocations__location__code=self.value())
            | Q(pickup_location__code=self.value())
            | Q(returns__location__code=self.value())
        ).values("pk")
        return queryset.filter(pk__in=matching)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class LineInline(ReadOnlyInline):
    model = OrderLine
    fields = [
        "sku",
        "name",
        "quantity",
        "quantity_fulfilled",
        "quantity_cancelled",
        "quantity_returned",
        "unit_price",
        "discount_total",
        "tax_amount",
        "line_total",
        "fulfilment_method",
        "pickup_location",
    ]
    readonly_fields = fields


class FulfilmentInline(ReadOnlyInline):
    model = Fulfilment
    fields = ["location", "method", "status", "carrier", "tracking_number", "created_at"]
    readonly_fields = fields


class ReturnInline(ReadOnlyInline):
    model = Return
    fk_name = "order"
    fields = ["location", "channel", "reason", "created_at"]
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = ["amount", "method", "reference", "reason", "created_at"]
    readonly_fields = fields


class TimelineInline(ReadOnlyInline):
    model = TimelineEvent
    fields = ["created_at", "actor", "kind", "message"]
    readonly_fields = fields
    verbose_name_plural = "timeline"


@admin.register(Order)
class OrderAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "number",
        "channel",
        "status",
        "customer_name",
        "customer_email",
        "total",
        "currency",
        "payment_status",
        "fulfilment_method",
        "created_at",
    ]
    list_filter = [
        "channel",
        "status",
        LocationFilter,
        ("created_at", admin.DateFieldListFilter),
        "fulfilment_method",
        "payment_status",
    ]
    date_hierarchy = "created_at"
    search_fields = ["number", "external_id", "customer_email", "customer_phone", "customer_name"]
    list_select_related = ["channel"]
    inlines = [LineInline, FulfilmentInline, ReturnInline, RefundInline, TimelineInline]
    actions = ["cancel_orders", "complete_orders"]
    readonly_fields = [
        "number",
        "channel",
        "external_id",
        "status",
        "customer",
        "customer_name",
        "customer_email",
        "customer_phone",
        "shipping_address",
        "billing_address",
        "fulfilment_method",
        "pickup_location",
        "currency",
        "subtotal",
        "discount_total",
        "shipping_total",
        "tax_total",
        "total",
        "refunded_total",
        "voucher_code",
        "loyalty_points_redeemed",
        "loyalty_points_earned",
        "payment_status",
        "payment_reference",
        "payment_amount",
        "exchange_for",
        "sourcing_strategy",
        "allocations_table",
        "note",
        "placed_by",
        "created_at",
        "completed_at",
        "cancelled_at",
    ]
    fieldsets = [
        (None, {"fields": ["number", "channel", "external_id", "status", "created_at"]}),
        ("Customer", {"fields": ["customer", "customer_name", "customer_email", "customer_phone"]}),
        (
            "Fulfilment",
            {
                "fields": [
                    "fulfilment_method",
                    "pickup_location",
                    "shipping_address",
                    "billing_address",
                    "sourcing_strategy",
                    "allocations_table",
                ]
            },
        ),
        (
            "Money",
            {
                "fields": [
                    "currency",
                    "subtotal",
                    "discount_total",
                    "shipping_total",
                    "tax_total",
                    "total",
                    "refunded_total",
                    "voucher_code",
                    "loyalty_points_redeemed",
                    "loyalty_points_earned",
                    "payment_status",
                    "payment_reference",
                    "payment_amount",
                ]
            },
        ),
        (
            "Other",
            {"fields": ["exchange_for", "note", "placed_by", "completed_at", "cancelled_at"]},
        ),
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="Allocations (where each line is reserved, and why)")
    def allocations_table(self, obj: Order):
        rows = [
            (
                a.line.sku,
                a.location.code,
                a.quantity,
                a.quantity_fulfilled,
                a.quantity_released,
                a.strategy,
                a.reason,
            )
            for line in obj.lines.all()
            for a in line.allocations.select_related("location", "line")
        ]
        if not rows:
            return "-"
        body = format_html_join("", "<tr>" + "<td>{}</td>" * 7 + "</tr>", rows)
        return format_html(
            "<table><tr><th>SKU</th><th>Location</th><th>Qty</th><th>Fulfilled</th>"
            "<th>Released</th><th>Strategy</th><th>Why</th></tr>{}</table>",
            body,
        )

    def get_queryset(self, request):
        # Store staff see the orders that touch their store(s) only.
        return selectors.orders_in_scope(super().get_queryset(request), request.user)

    @admin.action(
        description="Cancel selected orders (releases reservations)", permissions=["change"]
    )
    @confirm_action("Cancel these orders and release their reservations?", danger=True)
    def cancel_orders(self, request, queryset):
        def cancel(order):
            services.order_cancel(order=order, reason="cancelled in admin", user=request.user)

        self._each_order(request, queryset, cancel, "cancel", "Cancelled")

    @admin.action(
        description="Complete selected fulfilled orders (earns loyalty points)",
        permissions=["change"],
    )
    @confirm_action("Complete these orders (loyalty points are earned)?")
    def complete_orders(self, request, queryset):
        def complete(order):
            services.order_complete(order=order, user=request.user)

        self._each_order(request, queryset, complete, "complete", "Completed")

    def _each_order(self, request, queryset, action, operation: str, done_verb: str) -> None:
        """Run `action(order)` on each selected order, auditing each success as `operation`;
        a refused order is reported and the others go on."""
        done = 0
        for order in queryset:
            before = order.status
            try:
                action(order)
            except DomainError as exc:
                self.message_user(request, f"{order.number}: {exc.message}", messages.ERROR)
                continue
            order_action_audit(request, order, before, operation)
            done += 1
        if done:
            self.message_user(request, f"{done_verb} {done} orders.", messages.SUCCESS)

    def get_urls(self):
        extra = [
            path(
                "place/",
                self.admin_site.admin_view(self.place_view),
                name="orders_order_place",
            ),
            path(
                "pickup-queue/",
                self.admin_site.admin_view(self.pickup_queue_view),
                name="orders_order_pickup_queue",
            ),
            path(
                "lookup/",
                self.admin_site.admin_view(self.lookup_view),
                name="orders_order_lookup",
            ),
        ]
        return extra + super().get_urls()

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "place_url": reverse("admin:orders_order_place"),
            "pickup_url": reverse("admin:orders_order_pickup_queue"),
            "lookup_url": reverse("admin:orders_order_lookup"),
        }
        return super().changelist_view(request, extra_context)

    change_list_template = "admin/orders/order/change_list.html"

    def place_view(self, request):
        """Staff place an order for a customer (till or phone) through order_place."""
        if denied := denied_unless(request, "orders.add_order"):
            return denied
        form = PlaceOrderForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                placement = services.order_place(user=request.user, **form.service_kwargs())
            except DomainError as exc:
                form.add_error(None, _describe(exc))
            else:
                order = placement.order
                self.message_user(
                    request, f"Order {order.number} placed ({order.status}).", messages.SUCCESS
                )
                return redirect("admin:orders_order_change", order.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": "Place an order for a customer",
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/place_order.html", context)

    def lookup_view(self, request):
        """The till lookup: find an order, see it whole, hand over or take back goods."""
        return admin_lookup.order_lookup_view(self, request)

    def pickup_queue_view(self, request):
        """A store's pickup counter: start picking, mark ready, hand over."""
        if denied := denied_unless(request, "orders.view_fulfilment"):
            return denied
        locations = scope_queryset(
            StockLocation.objects.filter(pickup_enabled=True, active=True), request.user, "pk"
        )
        code = request.GET.get("location") or (locations[0].code if locations else "")
        location = locations.filter(code=code).first()
        if request.method == "POST" and location is not None:
            if denied := denied_unless(request, "orders.change_fulfilment"):
                return denied
            self._pickup_step(request, location)
            return redirect(f"{reverse('admin:orders_order_pickup_queue')}?location={code}")
        queue = list(selectors.pickup_queue(location=location)) if location else []
        context = {
            **self.admin_site.each_context(request),
            "title": f"Pickup queue: {location.name if location else 'no pickup store'}",
            "locations": locations,
            "location": location,
            "queue": queue,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/orders/pickup_queue.html", context)

    def _pickup_step(self, request, location) -> None:
        order = Order.objects.filter(number=request.POST.get("order")).first()
        step = request.POST.get("step")
        if order is None:
            self.message_user(request, "Unknown order.", messages.ERROR)
            return
        before = order.status
        try:
            if step == "start":
                services.fulfilment_create(
                    order=order, location_code=location.code, user=request.user
                )
            elif step in ("ready", "collect"):
                fulfilment_id = int(request.POST.get("fulfilment", "0"))
                if not Fulfilment.objects.filter(
                    pk=fulfilment_id, order=order, location=location
                ).exists():
                    # Only this counter's own pickups (store staff cannot reach other stores').
                    raise ValueError("that fulfilment is not waiting at this store")
                action = (
                    services.fulfilment_mark_ready
                    if step == "ready"
                    else services.fulfilment_collect
                )
                action(order=order, fulfilment_id=fulfilment_id, user=request.user)
            else:
                self.message_user(request, "Unknown step.", messages.ERROR)
                return
        except (DomainError, ValueError) as exc:
            self.message_user(request, f"{order.number}: {exc}", messages.ERROR)
        else:
            order_action_audit(
                request, order, before, f"pickup_{step}", location=[None, location.code]
            )
            self.message_user(request, f"{order.number}: {step} done.", messages.SUCCESS)


def _describe(exc: DomainError) -> str:
    shortfalls = exc.extra.get("shortfalls")
    if shortfalls:
        short = ", ".join(
            f"{s['sku']} (wanted {s['requested']}, {s['available']} available)" for s in shortfalls
        )
        return f"{exc.message} {short}"
    return f"{exc.message}{f' [{exc.field}]' if exc.field else ''}"


class PlaceOrderForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.filter(active=True),
        help_text="The store or call-centre channel selling.",
    )
    email = forms.EmailField(required=False)
    phone = forms.CharField(max_length=32, required=False)
    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    lines = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="One line per item: SKU and quantity, e.g. 'TEE-M 2'.",
    )
    fulfilment_method = forms.ChoiceField(
        choices=[
            (FulfilmentMethod.SHIP, "Ship"),
            (FulfilmentMethod.PICKUP, "Pick up in store"),
            (FulfilmentMethod.SHIP_FROM_STORE, "Ship from store"),
        ]
    )
    pickup_location = forms.ModelChoiceField(
        queryset=StockLocation.objects.filter(pickup_enabled=True, active=True),
        required=False,
        to_field_name="code",
    )
    address_line1 = forms.CharField(max_length=200, required=False)
    city = forms.CharField(max_length=100, required=False)
    postcode = forms.CharField(max_length=20, required=False)
    country = forms.CharField(max_length=2, required=False, initial="US")
    voucher_code = forms.CharField(max_length=64, required=False)
    loyalty_points = forms.IntegerField(min_value=0, required=False, initial=0)
    payment_status = forms.ChoiceField(
        choices=[
            (PaymentStatus.PAID, "Paid"),
            (PaymentStatus.AUTHORIZED, "Authorized"),
            (PaymentStatus.PENDING, "Pending"),
        ]
    )
    payment_reference = forms.CharField(max_length=120, required=False)

    def clean_lines(self):
        parsed = []
        for number, raw in enumerate(self.cleaned_data["lines"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            if len(parts) != 2 or not parts[1].isdigit() or int(parts[1]) < 1:
                raise forms.ValidationError(f"Line {number}: write 'SKU quantity'.")
            parsed.append(services.LineInput(parts[0], int(parts[1])))
        if not parsed:
            raise forms.ValidationError("Add at least one line.")
        return parsed

    def clean(self):
        data = super().clean()
        method = data.get("fulfilment_method")
        if method == FulfilmentMethod.PICKUP and not data.get("pickup_location"):
            self.add_error("pickup_location", "Choose the pickup store.")
        if method != FulfilmentMethod.PICKUP and not (
            data.get("address_line1") and data.get("city") and data.get("country")
        ):
            self.add_error("address_line1", "Shipped orders need an address.")
        return data

    def service_kwargs(self) -> dict:
        data = self.cleaned_data
        identity = {
            "email": data["email"],
            "phone": data["phone"],
            "first_name": data["first_name"],
            "last_name": data["last_name"],
        }
        pickup = data.get("pickup_location")
        return {
            "channel": data["channel"],
            "lines": data["lines"],
            "customer": services.CustomerInput(**identity)
            if data["email"] or data["phone"]
            else None,
            "fulfilment_method": data["fulfilment_method"],
            "pickup_location_code": pickup.code if pickup else "",
            "shipping_address": {
                "name": f"{data['first_name']} {data['last_name']}".strip(),
                "line1": data["address_line1"],
                "city": data["city"],
                "postcode": data["postcode"],
                "country": (data["country"] or "").upper(),
            }
            if data["fulfilment_method"] != FulfilmentMethod.PICKUP
            else {},
            "voucher_code": data["voucher_code"] or None,
            "loyalty_points": data.get("loyalty_points") or 0,
            "payment": services.PaymentInput(
                status=data["payment_status"], reference=data["payment_reference"]
            ),
        }


@admin.register(Fulfilment)
class FulfilmentAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "location", "method", "status", "carrier", "created_at"]
    list_filter = ["status", "method", ("location", admin.RelatedOnlyFieldListFilter)]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, "location")

    search_fields = ["order__number", "tracking_number"]
    list_select_related = ["order", "location"]
    readonly_fields = [
        "order",
        "location",
        "method",
        "status",
        "carrier",
        "tracking_number",
        "created_by",
        "created_at",
        "packed_at",
        "shipped_at",
        "ready_at",
        "collected_at",
        "cancelled_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Return)
class ReturnAdmin(admin.ModelAdmin):
    list_display = ["id", "order", "location", "channel", "created_at"]
    list_filter = [("location", admin.RelatedOnlyFieldListFilter), "channel"]
    date_hierarchy = "created_at"

    def get_queryset(self, request):
        # Store staff see the returns received at their store(s).
        return scope_queryset(super().get_queryset(request), request.user, "location")

    search_fields = ["order__number"]
    list_select_related = ["order", "location", "channel"]
    readonly_fields = ["order", "location", "channel", "reason", "external_id", "received_by"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ChannelOrderSettings)
class ChannelOrderSettingsAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "channel",
        "sourcing_strategy",
        "tax_rate",
        "prices_include_tax",
        "shipping_fee",
    ]
    list_filter = ["sourcing_strategy", "prices_include_tax"]
    search_fields = ["channel__code"]
    list_select_related = ["channel"]


@admin.register(PostcodeArea)
class PostcodeAreaAdmin(admin.ModelAdmin):
    list_display = ["country", "prefix", "latitude", "longitude"]
    list_filter = ["country"]
    search_fields = ["prefix"]


dashboard.register()
admin_lookup.register()
