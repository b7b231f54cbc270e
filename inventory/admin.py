"""Admin for inventory. Counters are read-only here: every change goes through a service, from
the operation form on the movement ledger or from the actions on transfers, reservations, stock
and low-stock alerts."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.db.models import F
from django.http import HttpResponseRedirect

from catalog.models import Variant
from inventory import dashboard, services
from inventory.audit import audit_stock_movements
from inventory.models import (
    AvailabilityChange,
    ChannelLocation,
    LowStockAlert,
    MovementReason,
    Reservation,
    StaffLocation,
    Stock,
    StockCount,
    StockCountLine,
    StockLocation,
    StockMovement,
    Transfer,
    TransferLine,
)
from inventory.scoping import location_check, scope_queryset
from omni.admin_audit import AuditedAdminMixin
from omni.admin_confirm import confirm_action
from omni.audit import AuditAction, audit_record
from omni.errors import DomainError


def _run(modeladmin, request, label: str, items, call) -> None:
    """Apply `call` to each item; report successes and each refusal with its code."""
    done = 0
    for item in items:
        before = getattr(item, "status", None)
        try:
            result = call(item)
            done += 1
        except DomainError as exc:
            modeladmin.message_user(request, f"{item}: {exc.message} ({exc.code})", messages.ERROR)
        else:
            after = getattr(result if result is not None else item, "status", None)
            audit_record(
                user=request.user,
                instance=item,
                action=AuditAction.OPERATION,
                operation=label.lower(),
                changes={"status": [before, after]} if before is not None else {},
            )
    if done:
        modeladmin.message_user(request, f"{label}: {done} done.", messages.SUCCESS)


class LocationScopedAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Store staff see only rows of their assigned location(s): the changelist, the change
    page (another store's row is "not found"), actions and the location choices on forms."""

    scope_paths: tuple[str, ...] = ("location",)

    def get_queryset(self, request):
        return scope_queryset(super().get_queryset(request), request.user, *self.scope_paths)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.related_model is StockLocation:
            kwargs["queryset"] = scope_queryset(StockLocation.objects.all(), request.user, "pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class ChannelLocationInline(admin.TabularInline):
    model = ChannelLocation
    extra = 0
    fields = ["channel", "priority"]


@admin.register(StockLocation)
class StockLocationAdmin(LocationScopedAdmin):
    scope_paths = ("pk",)
    list_display = ["code", "name", "kind", "city", "pickup_enabled", "ships_enabled", "active"]
    list_filter = ["kind", "active", "pickup_enabled", "ships_enabled"]
    search_fields = ["code", "name", "city"]
    inlines = [ChannelLocationInline]


@admin.register(ChannelLocation)
class ChannelLocationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["channel", "location", "priority"]
    list_filter = ["channel", "location"]
    list_select_related = ["channel", "location"]
    search_fields = ["channel__code", "location__code"]
    list_editable = ["priority"]


@admin.register(Stock)
class StockAdmin(LocationScopedAdmin):
    list_display = ["variant", "location", "on_hand", "reserved", "available_units", "incoming",
                    "reorder_point", "needs_count", "updated_at"]  # fmt: skip
    list_filter = [("location", admin.RelatedOnlyFieldListFilter), "needs_count"]
    search_fields = ["variant__sku", "variant__product__name", "location__code"]
    show_full_result_count = False
    list_select_related = ["variant", "location"]
    readonly_fields = ["variant", "location", "on_hand", "reserved", "incoming", "needs_count",
                       "updated_at"]  # fmt: skip
    fields = [*readonly_fields, "reorder_point"]
    actions = ["flag_for_count"]

    @admin.display(description="available", ordering=F("on_hand") - F("reserved"))
    def available_units(self, obj: Stock) -> int:
        return obj.available

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Flag for a cycle count", permissions=["change"])
    @confirm_action("Flag these stock rows for a cycle count?")
    def flag_for_count(self, request, queryset):
        rows = list(queryset.filter(needs_count=False).select_related("variant", "location"))
        flagged = services.stock_flag_for_count(stock_ids=[row.pk for row in rows])
        for row in rows:
            audit_record(
                user=request.user,
                instance=row,
                action=AuditAction.UPDATE,
                operation="flag_for_count",
                changes={"needs_count": [False, True]},
            )
        self.message_user(request, f"{flagged} stock rows flagged for counting.")


class OperationForm(forms.ModelForm):
    """Receive, adjust or write off through the services; the ledger row is their result."""

    OPERATIONS = [
        (MovementReason.RECEIPT, "Receive goods"),
        (MovementReason.ADJUSTMENT, "Adjust (signed quantity, reason required)"),
        (MovementReason.DAMAGE, "Write off damaged"),
    ]
    operation = forms.ChoiceField(choices=OPERATIONS)
    location = forms.ModelChoiceField(queryset=StockLocation.objects.all())
    sku = forms.CharField(max_length=64)
    amount = forms.IntegerField(label="Quantity")

    class Meta:
        model = StockMovement
        fields = ["reference", "note"]

    def clean_sku(self) -> Variant:
        variant = Variant.objects.filter(sku=self.cleaned_data["sku"]).first()
        if variant is None:
            raise forms.ValidationError("Unknown SKU.", code="unknown_sku")
        return variant


@admin.register(StockMovement)
class StockMovementAdmin(LocationScopedAdmin):
    """The append-only ledger. "Add" runs an operation (receipt, adjustment, write-off)."""

    scope_paths = ("stock__location",)

    list_display = ["created_at", "stock", "reason", "quantity", "reference", "user", "note"]
    list_filter = ["reason", "stock__location"]
    search_fields = ["reference", "stock__variant__sku"]
    list_select_related = ["stock__variant", "stock__location", "user"]
    date_hierarchy = "created_at"

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = OperationForm
            kwargs["fields"] = None
        form = super().get_form(request, obj, change, **kwargs)
        if obj is None:
            # Store staff book operations at their own store only.
            form.base_fields["location"].queryset = scope_queryset(
                StockLocation.objects.all(), request.user, "pk"
            )
        return form

    def log_addition(self, request, obj, message):
        # The operation, not the ledger row, is what staff did: audited in save_model.
        request._audit_forms = (None, [])
        return admin.ModelAdmin.log_addition(self, request, obj, message)

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(None, {"fields": ["operation", "location", "sku", "amount", "reference",
                                       "note"]})]  # fmt: skip
        return super().get_fieldsets(request, obj)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return ["stock", "reason", "quantity", "reference", "note", "user", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        common = {"location_id": data["location"].pk, "reference": data["reference"],
                  "user": request.user}  # fmt: skip
        variant = data["sku"]
        try:
            location_check(request.user, data["location"].pk)
            if data["operation"] == MovementReason.RECEIPT:
                (movement,) = services.stock_receive(
                    lines=[services.StockLine(variant.pk, data["amount"])],
                    note=data["note"],
                    **common,
                )
            elif data["operation"] == MovementReason.ADJUSTMENT:
                movement = services.stock_adjust(
                    variant_id=variant.pk, quantity=data["amount"], note=data["note"], **common
                )
            else:
                movement = services.stock_write_off(
                    variant_id=variant.pk, quantity=data["amount"], note=data["note"], **common
                )
        except DomainError as exc:
            # The admin has already validated the form; show the domain refusal on the page.
            raise forms.ValidationError(f"{exc.message} ({exc.code})") from exc
        for field in ("pk", "stock_id", "reason", "quantity", "created_at"):
            setattr(obj, field, getattr(movement, field))
        obj._state.adding = False
        audit_stock_movements(request.user, [movement], source="admin")

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except forms.ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())


class TransferLineForm(forms.ModelForm):
    class Meta:
        model = TransferLine
        fields = ["variant", "quantity"]

    def clean_quantity(self) -> int:
        quantity = self.cleaned_data["quantity"]
        if not quantity or quantity <= 0:
            raise forms.ValidationError("Must be positive.", code="invalid_quantity")
        return quantity


class TransferLineInline(admin.TabularInline):
    model = TransferLine
    form = TransferLineForm
    extra = 1
    min_num = 1

    def get_formset(self, request, obj=None, **kwargs):
        # A transfer without lines is refused by the service; say so on the form instead.
        return super().get_formset(request, obj, validate_min=True, **kwargs)

    fields = ["variant", "quantity", "quantity_received"]
    readonly_fields = ["quantity_received"]
    raw_id_fields = ["variant"]

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class TransferForm(forms.ModelForm):
    class Meta:
        model = Transfer
        fields = ["source", "destination", "reference", "note"]

    def clean(self):
        data = super().clean()
        if data.get("source") and data.get("source") == data.get("destination"):
            raise forms.ValidationError(
                {"destination": "Source and destination must differ."}, code="same_location"
            )
        return data


@admin.register(Transfer)
class TransferAdmin(LocationScopedAdmin):
    scope_paths = ("source", "destination")
    form = TransferForm
    list_display = ["id", "source", "destination", "status", "reference", "created_at",
                    "shipped_at", "received_at"]  # fmt: skip
    list_filter = ["status", "source", "destination"]
    search_fields = ["reference", "lines__variant__sku"]
    list_select_related = ["source", "destination"]
    date_hierarchy = "created_at"
    inlines = [TransferLineInline]
    actions = ["ship", "receive_outstanding", "close_short", "cancel"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["status"]
        return ["source", "destination", "status", "reference", "note", "created_by",
                "shipped_at", "received_at"]  # fmt: skip

    def save_model(self, request, obj, form, change):
        # Drafts are created by the service once the lines are known (save_related).
        if change:
            return

    def save_related(self, request, form, formsets, change):
        if change:
            return
        lines = [
            services.StockLine(row["variant"].pk, row["quantity"])
            for formset in formsets
            for row in formset.cleaned_data
            if row and not row.get("DELETE") and row.get("variant")
        ]
        transfer = services.transfer_create(
            source_id=form.cleaned_data["source"].pk,
            destination_id=form.cleaned_data["destination"].pk,
            lines=lines,
            reference=form.cleaned_data["reference"],
            note=form.cleaned_data["note"],
            user=request.user,
        )
        form.instance.pk = transfer.pk
        form.instance._state.adding = False
        for formset in formsets:
            # The service wrote the lines; the admin's change message reads these.
            formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []

    @admin.action(description="Ship selected transfers", permissions=["change"])
    @confirm_action("Ship these transfers (stock leaves the source)?")
    def ship(self, request, queryset):
        _run(self, request, "Shipped", queryset,
             lambda t: services.transfer_ship(transfer=t, user=request.user))  # fmt: skip

    @admin.action(description="Receive everything outstanding", permissions=["change"])
    @confirm_action("Receive everything outstanding on these transfers?")
    def receive_outstanding(self, request, queryset):
        _run(self, request, "Received", queryset,
             lambda t: services.transfer_receive(transfer=t, user=request.user))  # fmt: skip

    @admin.action(description="Close short (outstanding lost in transit)", permissions=["change"])
    @confirm_action("Close these transfers short (outstanding units are lost)?", danger=True)
    def close_short(self, request, queryset):
        _run(self, request, "Closed", queryset,
             lambda t: services.transfer_close(transfer=t, user=request.user))  # fmt: skip

    @admin.action(description="Cancel selected drafts", permissions=["change"])
    @confirm_action("Cancel these draft transfers?", danger=True)
    def cancel(self, request, queryset):
        _run(self, request, "Cancelled", queryset,
             lambda t: services.transfer_cancel(transfer=t, user=request.user))  # fmt: skip


@admin.register(Reservation)
class ReservationAdmin(LocationScopedAdmin):
    scope_paths = ("stock__location",)
    list_display = ["id", "stock", "quantity", "kind", "channel", "reference", "expires_at",
                    "created_at"]  # fmt: skip
    list_filter = ["kind", "channel", "stock__location"]
    search_fields = ["reference", "stock__variant__sku"]
    list_select_related = ["stock__variant", "stock__location", "channel"]
    actions = ["release", "expire_cart_holds"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Release selected reservations", permissions=["view"])
    @confirm_action("Release these reservations?", danger=True)
    def release(self, request, queryset):
        if not request.user.has_perm("inventory.change_stock"):
            self.message_user(
                request, "Releasing needs the change stock permission.", messages.ERROR
            )
            return
        batch = list(queryset.select_related("stock__variant", "stock__location"))
        services.reservation_release(reservations=batch, user=request.user)
        for reservation in batch:
            stock = reservation.stock
            audit_record(
                user=request.user,
                instance=stock,
                object_repr=f"{stock.variant.sku} @ {stock.location.code}",
                action=AuditAction.OPERATION,
                operation="reservation_release",
                changes={
                    "reserved": [reservation.quantity, 0],
                    "reference": [reservation.reference, None],
                },
            )
        self.message_user(request, f"Released {len(batch)} reservations.", messages.SUCCESS)

    @admin.action(description="Release every expired cart hold now", permissions=["view"])
    def expire_cart_holds(self, request, queryset):
        released = services.cart_holds_expire()
        self.message_user(request, f"Released {released} expired cart holds.", messages.SUCCESS)


class StockCountLineInline(admin.TabularInline):
    model = StockCountLine
    fields = ["variant", "expected", "counted", "difference"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StockCount)
class StockCountAdmin(LocationScopedAdmin):
    """Cycle counts are booked through the API (or a handheld); here they are reviewed."""

    list_display = ["id", "location", "reference", "created_by", "created_at"]
    list_filter = ["location"]
    list_select_related = ["location", "created_by"]
    search_fields = ["reference", "lines__variant__sku"]
    readonly_fields = ["location", "reference", "note", "created_by", "created_at"]
    inlines = [StockCountLineInline]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class OpenAlertFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(LowStockAlert)
class LowStockAlertAdmin(LocationScopedAdmin):
    scope_paths = ("stock__location",)
    """The staff dashboard's low-stock list: rows at or below their reorder point."""

    list_display = ["stock", "available", "incoming", "reorder_point", "detected_at",
                    "resolved_at"]  # fmt: skip
    list_filter = [OpenAlertFilter, "stock__location"]
    search_fields = ["stock__variant__sku"]
    list_select_related = ["stock__variant", "stock__location"]
    actions = ["rescan"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.action(description="Rescan stock against reorder points now", permissions=["view"])
    def rescan(self, request, queryset):
        result = services.low_stock_scan()
        self.message_user(
            request,
            f"{result['open']} rows low; {result['created']} new, {result['resolved']} resolved.",
        )


@admin.register(AvailabilityChange)
class AvailabilityChangeAdmin(admin.ModelAdmin):
    list_display = ["id", "variant", "channel", "available", "created_at", "published_at"]
    list_filter = ["channel"]
    list_select_related = ["variant", "channel"]

    @admin.display(description="Published at", ordering="created_at")
    def published_at(self, obj: AvailabilityChange):
        # The drain writes the row when it publishes the value.
        return obj.created_at

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(StaffLocation)
class StaffLocationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Which store(s) each store staff member works at."""

    list_display = ["user", "location"]
    list_filter = ["location"]
    search_fields = ["user__username", "location__code"]
    list_select_related = ["user", "location"]
    autocomplete_fields = ["user"]


class StaffLocationInline(admin.TabularInline):
    model = StaffLocation
    extra = 0
    fields = ["location"]
    verbose_name = "assigned store"
    verbose_name_plural = "assigned stores (store staff see only these)"


User = get_user_model()
if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class StaffUserAdmin(AuditedAdminMixin, UserAdmin):
    inlines = [*UserAdmin.inlines, StaffLocationInline]
    list_display = [*UserAdmin.list_display, "is_active", "last_login"]
    list_filter = [*UserAdmin.list_filter, "staff_locations__location"]


dashboard.register()
