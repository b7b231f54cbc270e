"""Admin: the customer page is the single view of a customer (identities, orders from every
channel, loyalty, consents, cases, merges); actions merge, export and erase through services."""

import json

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db.models import OuterRef, Subquery, Sum
from django.http import HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from customers.errors import CustomerError
from customers.models import (
    Address,
    CaseEvent,
    CaseStatus,
    ConsentRecord,
    Customer,
    Identity,
    IdentityKind,
    LoyaltyChannelRate,
    LoyaltyEntry,
    LoyaltySettings,
    LoyaltyTier,
    MergeRecord,
    PrivacyRequest,
    ServiceCase,
)
from customers.order_history import order_history_provider
from customers.selectors import (
    consents_current,
    duplicate_candidates,
    loyalty_balance,
    loyalty_balances,
    loyalty_terms,
)
from customers.services import (
    case_add_note,
    case_assign,
    case_open,
    case_set_status,
    consent_record,
    customer_erase,
    customer_export,
    customer_merge,
    customer_unmerge,
)
from customers.suggestions import suggestion_provider
from omni.admin_audit import AuditedAdminMixin
from omni.admin_confirm import confirm_action
from omni.audit import AuditAction, audit_record, audit_scrub
from omni.errors import DomainError


def _table(headers: list[str], rows, empty: str = "none"):
    rows = list(rows)
    if not rows:
        return format_html("<em>{}</em>", empty)
    head = format_html_join("", "<th>{}</th>", ((h,) for h in headers))
    body = format_html_join(
        "",
        "<tr>{}</tr>",
        ((format_html_join("", "<td>{}</td>", ((cell,) for cell in row)),) for row in rows),
    )
    return format_html("<table><thead><tr>{}</tr></thead><tbody>{}</tbody></table>", head, body)


class IdentityInline(admin.TabularInline):
    model = Identity
    fields = ["kind", "value", "raw_value", "channel", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # identities arrive through resolution or the API (normalised, checked)


class AddressInline(admin.StackedInline):
    model = Address
    extra = 0
    fields = [
        ("label", "is_default"),
        "name",
        "line1",
        "line2",
        ("city", "postcode"),
        ("region", "country"),
        "phone",
    ]


class CaseInline(admin.TabularInline):
    model = ServiceCase
    fields = ["kind", "subject", "status", "channel", "order_reference", "assignee", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "email",
        "tier_code",
        "segment",
        "points",
        "created_at",
        "last_seen_at",
        "state",
    ]
    list_filter = [
        "tier_code",
        "segment",
        ("erased_at", admin.EmptyFieldListFilter),
        ("merged_into", admin.EmptyFieldListFilter),
    ]
    search_fields = ["first_name", "last_name", "identities__value"]
    readonly_fields = [
        "state",
        "created_at",
        "last_seen_at",
        "loyalty_panel",
        "consents_panel",
        "orders_panel",
        "suggestions_panel",
        "merges_panel",
        "segment_panel",
    ]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    ("first_name", "last_name"),
                    "preferred_store",
                    "tags",
                    "notes",
                    ("state", "created_at", "last_seen_at"),
                ]
            },
        ),
        ("Orders from every channel", {"fields": ["orders_panel"]}),
        ("Suggested products", {"fields": ["suggestions_panel"]}),
        ("Loyalty", {"fields": ["loyalty_panel"]}),
        ("Consents", {"fields": ["consents_panel"]}),
        ("Segments", {"fields": ["segment_panel"]}),
        ("Merges", {"fields": ["merges_panel"], "classes": ["collapse"]}),
    ]
    inlines = [IdentityInline, AddressInline, CaseInline]
    actions = ["merge_profiles", "export_profiles", "erase_profiles"]

    def get_queryset(self, request):
        first_email = Identity.objects.filter(
            customer=OuterRef("pk"), kind=IdentityKind.EMAIL
        ).order_by("pk")
        points = (
            LoyaltyEntry.objects.filter(customer=OuterRef("pk"))
            .values("customer")
            .annotate(total=Sum("points"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                first_email=Subquery(first_email.values("value")[:1]),
                points_total=Subquery(points),
            )
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # profiles are merged or erased, never deleted: orders point at them

    def get_urls(self):
        view = self.admin_site.admin_view(self.duplicates_view)
        return [
            path("duplicates/", view, name="customers_customer_duplicates"),
            *super().get_urls(),
        ]

    def duplicates_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        groups = duplicate_candidates()
        ids = {pk for group in groups for pk in group["customer_ids"]}
        customers = Customer.objects.in_bulk(ids)
        labels = {
            "email_variant": "same mailbox",
            "phone_variant": "same phone number",
            "name_postcode": "same name and postcode",
        }
        context = {
            **self.admin_site.each_context(request),
            "title": "Duplicate candidates",
            "opts": self.model._meta,
            "groups": [
                {
                    **group,
                    "reason_label": labels.get(group["reason"], group["reason"]),
                    "customers": [customers[pk] for pk in group["customer_ids"] if pk in customers],
                    "ids": ",".join(str(pk) for pk in group["customer_ids"]),
                }
                for group in groups
            ],
        }
        return TemplateResponse(request, "admin/customers/customer/duplicates.html", context)

    @admin.display(description="email", ordering="first_email")
    def email(self, obj):
        return getattr(obj, "first_email", None) or "—"

    @admin.display(description="points", ordering="points_total")
    def points(self, obj):
        return getattr(obj, "points_total", None) or 0

    @admin.display(description="state")
    def state(self, obj):
        if obj.erased_at:
            return f"erased {obj.erased_at:%Y-%m-%d}"
        if obj.merged_into_id:
            url = reverse("admin:customers_customer_change", args=[obj.merged_into_id])
            return format_html('merged into <a href="{}">#{}</a>', url, obj.merged_into_id)
        return "live"

    @admin.display(description="orders")
    def orders_panel(self, obj):
        orders = order_history_provider().orders_for(customer_id=obj.pk, limit=50)
        return _table(
            ["number", "channel", "status", "placed", "items", "total", "returns"],
            (
                (
                    format_html('<a href="{}">{}</a>', o.admin_url, o.number)
                    if o.admin_url
                    else o.number,
                    o.channel,
                    o.status,
                    f"{o.placed_at:%Y-%m-%d %H:%M}",
                    o.items,
                    f"{o.total} {o.currency}",
                    len(o.returns),
                )
                for o in orders
            ),
            empty="no orders",
        )

    @admin.display(description="suggestions")
    def suggestions_panel(self, obj):
        """What the customer is likely to buy next, from their purchases in every channel
        (recomputed by Celery after their orders change, and nightly)."""
        suggestions = suggestion_provider().suggestions_for(customer_id=obj.pk, limit=10)
        return _table(
            ["#", "product", "score"],
            (
                (
                    s.rank,
                    format_html('<a href="{}">{}</a>', s.admin_url, s.name)
                    if s.admin_url
                    else s.name,
                    f"{s.score:.3f}",
                )
                for s in suggestions
            ),
            empty="no suggestions yet",
        )

    @admin.display(description="loyalty")
    def loyalty_panel(self, obj):
        balance = loyalty_balance(customer=obj)
        terms = loyalty_terms()
        summary = format_html(
            "<p><strong>{} points</strong> (worth {}) · tier: {} · 12-month spend: {}</p>",
            balance,
            (balance * terms.point_value).quantize(terms.point_value),
            obj.tier_code or "none",
            obj.tier_spend,
        )
        entries = obj.loyalty_entries.select_related("channel")[:25]
        url = reverse("admin:customers_loyaltyentry_changelist") + f"?customer__id__exact={obj.pk}"
        table = _table(
            ["when", "kind", "points", "reference", "channel", "expires", "note"],
            (
                (
                    f"{e.created_at:%Y-%m-%d}",
                    e.kind,
                    f"{e.points:+d}",
                    e.reference,
                    e.channel.code if e.channel else "",
                    f"{e.expires_at:%Y-%m-%d}" if e.expires_at else "",
                    e.note,
                )
                for e in entries
            ),
            empty="no entries",
        )
        return format_html('{}{}<p><a href="{}">full ledger</a></p>', summary, table, url)

    @admin.display(description="consents")
    def consents_panel(self, obj):
        current = consents_current(customer=obj)
        return _table(
            ["purpose", "state", "since", "channel", "source"],
            (
                (
                    purpose,
                    "never asked"
                    if record is None
                    else ("granted" if record.granted else "withdrawn"),
                    f"{record.recorded_at:%Y-%m-%d}" if record else "",
                    record.channel.code if record and record.channel else "",
                    record.source if record else "",
                )
                for purpose, record in current.items()
            ),
        )

    @admin.display(description="RFM")
    def segment_panel(self, obj):
        if not obj.segment:
            return "no purchases in the window"
        return f"{obj.segment} (R{obj.rfm_recency} F{obj.rfm_frequency} M{obj.rfm_monetary})"

    @admin.display(description="merge history")
    def merges_panel(self, obj):
        records = MergeRecord.objects.filter(survivor=obj) | MergeRecord.objects.filter(merged=obj)
        return _table(
            ["when", "merged", "into", "by", "rows moved", "undone"],
            (
                (
                    f"{r.merged_at:%Y-%m-%d %H:%M}",
                    f"#{r.merged_id}",
                    f"#{r.survivor_id}",
                    r.merged_by or "",
                    r.moved_count,
                    f"{r.undone_at:%Y-%m-%d}" if r.undone_at else "",
                )
                for r in records.select_related("merged_by")
            ),
        )

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("customers.merge_customer")

    def has_export_permission(self, request) -> bool:
        return request.user.has_perm("customers.export_customer")

    def has_erase_permission(self, request) -> bool:
        return request.user.has_perm("customers.erase_customer")

    @admin.action(description="Merge selected profiles…", permissions=["merge"])
    def merge_profiles(self, request, queryset):
        customers = list(queryset.order_by("created_at", "pk"))
        if len(customers) < 2:
            self.message_user(request, "Select at least two profiles to merge.", messages.WARNING)
            return None
        if request.POST.get("confirm") == "yes":
            by_pk = {c.pk: c for c in customers}
            survivor = by_pk.get(int(request.POST.get("survivor", 0) or 0))
            if survivor is None:
                self.message_user(request, "Choose the profile to keep.", messages.ERROR)
                return None
            for merged in customers:
                if merged.pk == survivor.pk:
                    continue
                try:
                    record = customer_merge(survivor=survivor, merged=merged, user=request.user)
                except DomainError as exc:
                    self.message_user(request, f"#{merged.pk}: {exc.message}", messages.ERROR)
                    continue
                audit_record(
                    user=request.user,
                    instance=survivor,
                    action=AuditAction.OPERATION,
                    operation="merge",
                    changes={"merged": [None, merged.pk], "rows_moved": [None, record.moved_count]},
                )
                self.message_user(
                    request,
                    f"Merged #{merged.pk} into #{survivor.pk} ({record.moved_count} rows moved).",
                    messages.SUCCESS,
                )
            return None
        balances = loyalty_balances(customer_ids=[c.pk for c in customers])
        identities: dict[int, list[str]] = {}
        for customer_id, value in Identity.objects.filter(customer__in=customers).values_list(
            "customer_id", "value"
        ):
            identities.setdefault(customer_id, []).append(value)
        context = {
            **self.admin_site.each_context(request),
            "title": "Merge profiles",
            "opts": self.model._meta,
            "rows": [
                {"customer": c, "identities": identities.get(c.pk, []), "balance": balances[c.pk]}
                for c in customers
            ],
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(
            request, "admin/customers/customer/merge_confirmation.html", context
        )

    @admin.action(description="Export selected profiles as JSON", permissions=["export"])
    def export_profiles(self, request, queryset):
        exports = [customer_export(customer=c, user=request.user) for c in queryset.order_by("pk")]
        payload = exports[0] if len(exports) == 1 else exports
        name = f"customer-{exports[0]['customer']['id']}" if len(exports) == 1 else "customers"
        response = HttpResponse(
            json.dumps(payload, cls=DjangoJSONEncoder, indent=2),
            content_type="application/json",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}-export.json"'
        return response

    @admin.action(description="Erase personal data of selected profiles…", permissions=["erase"])
    def erase_profiles(self, request, queryset):
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Erase personal data",
                "opts": self.model._meta,
                "queryset": queryset,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(
                request, "admin/customers/customer/erase_confirmation.html", context
            )
        reason = request.POST.get("reason", "")
        done = 0
        for customer in queryset:
            try:
                customer_erase(customer=customer, user=request.user, reason=reason)
                audit_scrub(model=Customer, object_id=customer.pk)
                audit_record(
                    user=request.user,
                    instance=customer,
                    action=AuditAction.OPERATION,
                    operation="erase",
                    changes={"personal_data": ["held", "erased"]},
                )
                done += 1
            except CustomerError as exc:
                self.message_user(request, f"#{customer.pk}: {exc.message}", messages.ERROR)
        self.message_user(request, f"Erased {done} profile(s).", messages.SUCCESS)
        return None


@admin.register(MergeRecord)
class MergeRecordAdmin(admin.ModelAdmin):
    list_display = ["__str__", "merged_at", "merged_by", "moved_count", "undone_at", "undone_by"]
    list_filter = [("undone_at", admin.EmptyFieldListFilter)]
    search_fields = ["=survivor__id", "=merged__id"]
    readonly_fields = [
        "survivor",
        "merged",
        "merged_by",
        "merged_at",
        "moved",
        "survivor_before",
        "undone_at",
        "undone_by",
    ]
    list_select_related = ["merged_by", "undone_by"]
    actions = ["undo_merges"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("customers.merge_customer")

    @admin.action(description="Undo selected merges", permissions=["merge"])
    @confirm_action("Undo these merges?")
    def undo_merges(self, request, queryset):
        # Newest first: undoing an older merge whose survivor was merged again is refused.
        for record in queryset.order_by("-merged_at", "-pk"):
            try:
                customer_unmerge(record=record, user=request.user)
                audit_record(
                    user=request.user,
                    model=Customer,
                    object_id=record.survivor_id,
                    object_repr=f"Customer #{record.survivor_id}",
                    action=AuditAction.OPERATION,
                    operation="unmerge",
                    changes={"merged": [record.merged_id, None]},
                )
                self.message_user(request, f"Undid merge {record}.", messages.SUCCESS)
            except DomainError as exc:
                self.message_user(request, f"{record}: {exc.message}", messages.ERROR)


@admin.register(LoyaltySettings)
class LoyaltySettingsAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "__str__",
        "point_value",
        "max_basket_share",
        "default_earn_rate",
        "expiry_days",
    ]

    def has_add_permission(self, request) -> bool:
        # One settings row; adding it still needs the add permission.
        return super().has_add_permission(request) and not LoyaltySettings.objects.exists()

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        obj.pk = 1
        super().save_model(request, obj, form, change)


@admin.register(LoyaltyChannelRate)
class LoyaltyChannelRateAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["channel", "earn_rate"]
    list_select_related = ["channel"]


@admin.register(LoyaltyTier)
class LoyaltyTierAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["code", "name", "min_spend", "earn_multiplier", "benefits"]


@admin.register(LoyaltyEntry)
class LoyaltyEntryAdmin(admin.ModelAdmin):
    """The ledger is append-only: entries are written by the loyalty services only."""

    list_display = [
        "created_at",
        "customer",
        "kind",
        "points",
        "reference",
        "channel",
        "expires_at",
    ]
    list_filter = ["kind", "channel"]
    search_fields = ["=idempotency_key", "=reference"]
    list_select_related = ["customer", "channel"]
    raw_id_fields = ["customer"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(ConsentRecord)
class ConsentRecordAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = ["recorded_at", "customer", "purpose", "granted", "channel", "source"]
    list_filter = ["purpose", "granted", "channel"]
    search_fields = ["=customer__id"]
    date_hierarchy = "recorded_at"
    raw_id_fields = ["customer"]
    list_select_related = ["customer", "channel"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # append-only: record a new grant or withdrawal instead

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        record = consent_record(
            customer=obj.customer,
            purpose=obj.purpose,
            granted=obj.granted,
            channel=obj.channel,
            source=obj.source,
            user=request.user,
        )
        obj.pk = record.pk

    def get_fields(self, request, obj=None):
        return ["customer", "purpose", "granted", "channel", "source"]


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "customer", "requested_by", "reason"]
    list_filter = ["kind"]
    list_select_related = ["customer", "requested_by"]
    search_fields = ["=customer__id", "reason"]
    date_hierarchy = "created_at"
    readonly_fields = ["customer", "kind", "requested_by", "reason", "summary", "created_at"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class CaseEventInline(admin.TabularInline):
    model = CaseEvent
    fields = ["created_at", "kind", "from_status", "to_status", "body", "author"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class ServiceCaseForm(forms.ModelForm):
    new_status = forms.ChoiceField(
        choices=[("", "— keep —"), *CaseStatus.choices], required=False, label="Move to status"
    )
    new_note = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False)
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), required=False, label="First note"
    )

    class Meta:
        model = ServiceCase
        fields = ["customer", "kind", "channel", "subject", "order_reference", "assignee"]


@admin.register(ServiceCase)
class ServiceCaseAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Cases change through the case services, so every change lands on the timeline."""

    form = ServiceCaseForm
    list_display = ["__str__", "customer", "status", "channel", "assignee", "created_at"]
    list_filter = ["status", "kind", "channel", "assignee"]
    search_fields = ["subject", "=order_reference"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer", "channel", "assignee"]
    inlines = [CaseEventInline]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["customer", "kind", "channel", "subject", "order_reference", "assignee", "body"]
        return ["customer", "kind", "subject", "order_reference", "status", "assignee",
                "new_status", "new_note"]  # fmt: skip

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["customer", "kind", "subject", "order_reference", "status"]

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        try:
            if not change:
                case = case_open(
                    customer=data["customer"],
                    kind=data["kind"],
                    subject=data["subject"],
                    channel=data.get("channel"),
                    order_reference=data.get("order_reference", ""),
                    body=data.get("body", ""),
                    assignee=data.get("assignee"),
                    user=request.user,
                )
                obj.pk = case.pk
                return
            current = ServiceCase.objects.get(pk=obj.pk)
            if data.get("assignee") != current.assignee:
                case_assign(case=current, assignee=data.get("assignee"), user=request.user)
            if data.get("new_note"):
                case_add_note(case=current, body=data["new_note"], user=request.user)
            if data.get("new_status"):
                case_set_status(case=current, status=data["new_status"], user=request.user)
        except DomainError as exc:
            self.message_user(request, exc.message, messages.ERROR)
