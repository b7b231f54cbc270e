"""Admin for promotions and vouchers, with a basket preview across channels, voucher batch
generation and the per-promotion report."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from customers.models import Customer
from omni.admin_audit import AuditedAdminMixin
from omni.admin_confirm import confirm_action
from omni.audit import AuditAction, audit_record_many
from omni.errors import DomainError
from omni.models import Channel
from promotions.models import Promotion, PromotionUse, Trigger, Voucher, VoucherRedemption
from promotions.pricing import QuoteLineInput, quote, variant_ids_for_skus
from promotions.rules import rules_changed
from promotions.selectors import promotion_report
from promotions.services import voucher_batch_create, voucher_code_normalise


class PreviewForm(forms.Form):
    basket = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6, "cols": 40}),
        help_text="One line per item: SKU and quantity, e.g. `TEE-M 2`.",
    )
    customer_id = forms.IntegerField(required=False)
    voucher_code = forms.CharField(required=False, max_length=64)
    loyalty_points = forms.IntegerField(required=False, min_value=0, initial=0)

    def clean_basket(self) -> list[tuple[str, int]]:
        items = []
        for number, raw in enumerate(self.cleaned_data["basket"].splitlines(), start=1):
            parts = raw.split()
            if not parts:
                continue
            sku, qty = parts[0], parts[1] if len(parts) > 1 else "1"
            if len(parts) > 2 or not qty.isdigit() or int(qty) < 1:
                raise forms.ValidationError(f"Line {number}: write `SKU quantity`.")
            items.append((sku, int(qty)))
        if not items:
            raise forms.ValidationError("Enter at least one SKU.")
        ids = variant_ids_for_skus(skus=[sku for sku, _ in items])
        unknown = [sku for sku, _ in items if sku not in ids]
        if unknown:
            raise forms.ValidationError(f"Unknown SKU: {', '.join(unknown)}.")
        self.variant_ids = ids
        return items

    def clean_customer_id(self):
        pk = self.cleaned_data.get("customer_id")
        if pk is None:
            return None
        customer = Customer.objects.filter(pk=pk).first()
        if customer is None:
            raise forms.ValidationError("No such customer.")
        return customer


class ReportForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.all(), required=False, to_field_name="code"
    )
    since = forms.DateTimeField(required=False, help_text="From (inclusive).")
    until = forms.DateTimeField(required=False, help_text="To (exclusive).")


class BatchForm(forms.Form):
    prefix = forms.CharField(max_length=40)
    count = forms.IntegerField(min_value=1, max_value=10_000, initial=100)
    usage_limit = forms.IntegerField(min_value=1, required=False, initial=1)
    per_customer_limit = forms.IntegerField(min_value=1, required=False)
    valid_from = forms.DateTimeField(required=False)
    valid_until = forms.DateTimeField(required=False)


@admin.register(Promotion)
class PromotionAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "kind",
        "discount_type",
        "value",
        "trigger",
        "active",
        "starts_at",
        "ends_at",
        "priority",
        "exclusive",
    ]
    list_filter = ["kind", "trigger", "active", "exclusive", "channels"]
    search_fields = ["name"]
    raw_id_fields = ["products", "variants"]
    filter_horizontal = ["categories", "channels"]
    readonly_fields = ["tools", "created_at", "updated_at"]
    fieldsets = [
        (None, {"fields": ["name", "description", "active", "tools"]}),
        ("Rule", {"fields": ["kind", "discount_type", "value", "min_spend", "currency"]}),
        (
            "Buy X get Y / bundle",
            {"fields": ["buy_quantity", "get_quantity", "bundle_quantity", "bundle_price"]},
        ),
        (
            "Targets (none: every product)",
            {"fields": ["products", "variants", "categories", "brands"]},
        ),
        (
            "Who, where and when",
            {
                "fields": [
                    "trigger",
                    "channels",
                    "customer_tiers",
                    "customer_segments",
                    "starts_at",
                    "ends_at",
                    "priority",
                    "exclusive",
                ]
            },
        ),
        ("History", {"fields": ["created_at", "updated_at"]}),
    ]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("preview/", wrap(self.preview_view), name="promotions_promotion_preview"),
            path("report/", wrap(self.report_view), name="promotions_promotion_report"),
            path("<int:pk>/vouchers/", wrap(self.batch_view), name="promotions_promotion_batch"),
            *super().get_urls(),
        ]

    @admin.display(description="Tools")
    def tools(self, obj):
        preview = reverse("admin:promotions_promotion_preview")
        report = reverse("admin:promotions_promotion_report")
        if obj is None or obj.pk is None:
            return format_html('<a href="{}">Preview a basket</a>', preview)
        vouchers = (
            reverse("admin:promotions_voucher_changelist") + f"?promotion__id__exact={obj.pk}"
        )
        links = [
            format_html('<a href="{}">Preview a basket in every channel</a>', preview),
            format_html('<a href="{}">Report</a>', report),
        ]
        if obj.trigger == Trigger.VOUCHER:
            batch = reverse("admin:promotions_promotion_batch", args=[obj.pk])
            links.append(format_html('<a href="{}">Codes ({})</a>', vouchers, obj.vouchers.count()))
            links.append(format_html('<a href="{}">Generate a batch of codes</a>', batch))
        return format_html(" · ".join(["{}"] * len(links)), *links)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # Targets and channels are saved here, after the row: only now is the rule complete.
        rules_changed()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        rules_changed()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        rules_changed()

    def preview_view(self, request):
        """What the basket costs in each active channel, with every discount, right now."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PreviewForm(request.POST or None)
        results = []
        if request.method == "POST" and form.is_valid():
            items = form.cleaned_data["basket"]
            lines = [QuoteLineInput(form.variant_ids[sku], qty) for sku, qty in items]
            skus = {vid: sku for sku, vid in form.variant_ids.items()}
            for channel in Channel.objects.active():
                try:
                    q = quote(
                        channel=channel,
                        customer=form.cleaned_data["customer_id"],
                        lines=lines,
                        voucher_code=form.cleaned_data["voucher_code"] or None,
                        loyalty_points=form.cleaned_data["loyalty_points"] or 0,
                    )
                except DomainError as exc:
                    detail = exc.message
                    if exc.extra.get("variant_id") in skus:
                        detail = f"{skus[exc.extra['variant_id']]} is not sold here."
                    results.append({"channel": channel, "error": f"{detail} ({exc.code})"})
                    continue
                results.append({"channel": channel, "quote": q})
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Preview a basket in every channel",
            "form": form,
            "results": results,
        }
        return TemplateResponse(request, "admin/promotions/preview.html", context)

    def report_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = ReportForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Promotion report",
            "form": form,
            "rows": promotion_report(**{k: v for k, v in filters.items() if v}),
        }
        return TemplateResponse(request, "admin/promotions/report.html", context)

    def batch_view(self, request, pk: int):
        promotion = get_object_or_404(Promotion, pk=pk)
        if not request.user.has_perm("promotions.add_voucher"):
            raise PermissionDenied
        form = BatchForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                vouchers = voucher_batch_create(promotion=promotion, **form.cleaned_data)
            except DomainError as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
            else:
                self.message_user(
                    request,
                    f"{len(vouchers)} codes created in batch {vouchers[0].batch}.",
                    messages.SUCCESS,
                )
                return redirect(
                    reverse("admin:promotions_voucher_changelist") + f"?batch={vouchers[0].batch}"
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": promotion,
            "title": f"Generate codes for {promotion}",
            "form": form,
        }
        return TemplateResponse(request, "admin/promotions/batch.html", context)


class VoucherForm(forms.ModelForm):
    class Meta:
        model = Voucher
        fields = [
            "promotion",
            "code",
            "batch",
            "active",
            "valid_from",
            "valid_until",
            "usage_limit",
            "per_customer_limit",
        ]

    def clean_code(self) -> str:
        # Normalised before the uniqueness check, so "save5" collides with "SAVE5".
        return voucher_code_normalise(self.cleaned_data["code"])


@admin.register(Voucher)
class VoucherAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = VoucherForm
    list_display = [
        "code",
        "promotion",
        "batch",
        "active",
        "times_used",
        "usage_limit",
        "per_customer_limit",
        "valid_from",
        "valid_until",
    ]
    list_filter = ["active", "batch", "promotion"]
    search_fields = ["code", "batch"]
    list_select_related = ["promotion"]
    raw_id_fields = ["promotion"]
    readonly_fields = ["times_used", "created_at"]
    actions = ["deactivate"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "promotion":
            kwargs["queryset"] = Promotion.objects.filter(trigger=Trigger.VOUCHER)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        rules_changed()

    @admin.action(description="Deactivate the selected codes", permissions=["change"])
    @confirm_action("Deactivate these voucher codes?")
    def deactivate(self, request, queryset):
        codes = list(queryset.filter(active=True).values_list("pk", "code"))
        count = Voucher.objects.filter(pk__in=[pk for pk, _ in codes], active=True).update(
            active=False
        )
        audit_record_many(
            user=request.user,
            action=AuditAction.UPDATE,
            model=Voucher,
            operation="deactivate",
            items=[(pk, code, {"active": [True, False]}) for pk, code in codes],
        )
        rules_changed()
        self.message_user(request, f"{count} codes deactivated.", messages.SUCCESS)


@admin.register(VoucherRedemption)
class VoucherRedemptionAdmin(admin.ModelAdmin):
    list_display = [
        "voucher",
        "order_reference",
        "channel",
        "customer",
        "created_at",
        "released_at",
    ]
    list_select_related = ["voucher", "channel", "customer"]
    list_filter = ["channel"]
    search_fields = ["voucher__code", "order_reference"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PromotionUse)
class PromotionUseAdmin(admin.ModelAdmin):
    list_display = [
        "promotion",
        "order_reference",
        "channel",
        "voucher_code",
        "discount",
        "revenue",
        "order_total",
        "currency",
        "created_at",
        "cancelled_at",
    ]
    list_select_related = ["promotion", "channel"]
    list_filter = ["channel", "promotion"]
    search_fields = ["order_reference", "promotion__name"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
