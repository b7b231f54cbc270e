"""Catalog admin: products with inline variants, listings per channel, bulk publish and
unpublish to a channel, a previewed percentage price change, CSV import and export."""

import io
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from catalog import services
from catalog.csv_io import catalog_csv_export, catalog_csv_import
from catalog.errors import CatalogInvalid, StalePreview
from catalog.models import Category, Listing, Product, Variant
from catalog.validation import (
    clean_attributes,
    clean_barcode,
    clean_compare_at,
    clean_images,
    clean_options,
    clean_price,
)
from omni.admin_audit import AuditedAdminMixin
from omni.admin_confirm import confirm_action
from omni.audit import AuditAction, audit_record_many
from omni.errors import DomainError
from omni.models import Channel

PREVIEW_ROWS = 200


def _as_validation_error(exc: CatalogInvalid) -> ValidationError:
    return ValidationError(exc.message, code=exc.code)


# --- categories ---------------------------------------------------------------------------


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "slug", "parent"]

    def clean_parent(self):
        parent = self.cleaned_data.get("parent")
        if self.instance.pk and parent is not None and parent.path.startswith(self.instance.path):
            raise ValidationError(
                "A category cannot move under itself or its descendants.", code="category_cycle"
            )
        return parent


@admin.register(Category)
class CategoryAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = CategoryForm
    list_display = ["path", "name", "slug"]
    search_fields = ["name", "slug", "path"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["parent"]

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            original = Category.objects.get(pk=obj.pk)
            saved = services.category_update(
                category=original, name=data["name"], slug=data["slug"], parent=data["parent"]
            )
        else:
            saved = services.category_create(
                name=data["name"], slug=data["slug"], parent=data["parent"]
            )
        obj.pk, obj.path = saved.pk, saved.path


# --- products and variants ----------------------------------------------------------------


class ProductForm(forms.ModelForm):
    class Meta:
        model = Product
        fields = [
            "name",
            "slug",
            "brand",
            "category",
            "description",
            "attributes",
            "images",
            "active",
        ]

    def clean_attributes(self):
        try:
            return clean_attributes(self.cleaned_data.get("attributes"))
        except CatalogInvalid as exc:
            raise _as_validation_error(exc) from exc

    def clean_images(self):
        try:
            return clean_images(self.cleaned_data.get("images"))
        except CatalogInvalid as exc:
            raise _as_validation_error(exc) from exc


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ["sku", "barcode", "name", "options", "weight_grams", "active"]

    def clean_barcode(self):
        try:
            return clean_barcode(self.cleaned_data.get("barcode"))
        except CatalogInvalid as exc:
            raise _as_validation_error(exc) from exc

    def clean_options(self):
        try:
            return clean_options(self.cleaned_data.get("options"))
        except CatalogInvalid as exc:
            raise _as_validation_error(exc) from exc

    def clean_sku(self):
        sku = (self.cleaned_data.get("sku") or "").strip()
        if not sku or any(ch.isspace() for ch in sku):
            raise ValidationError("A SKU has no spaces.", code="invalid_sku")
        return sku


class VariantInline(admin.TabularInline):
    model = Variant
    form = VariantForm
    fields = ["sku", "barcode", "name", "options", "weight_grams", "active"]
    extra = 0
    show_change_link = True


class CatalogActionForm(ActionForm):
    """The admin action bar gets a channel to publish to or unpublish from."""

    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("code"), required=False, empty_label="— channel —"
    )


@admin.register(Product)
class ProductAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ProductForm
    inlines = [VariantInline]
    list_display = ["name", "brand", "category", "active", "variant_count", "created_at"]
    list_filter = ["active", "brand", ("category", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["name", "slug", "brand", "variants__sku"]
    list_select_related = ["category"]
    prepopulated_fields = {"slug": ["name"]}
    autocomplete_fields = ["category"]
    action_form = CatalogActionForm
    actions = ["publish_to_channel", "unpublish_from_channel", "export_selected"]
    change_list_template = "admin/catalog/product/change_list.html"

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        # The product's active flag or its inline variants may have changed.
        services.channel_products_refresh(product_ids=[form.instance.pk])

    @admin.display(description="variants")
    def variant_count(self, obj: Product) -> int:
        return obj.variants.count()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("variants")

    def _action_channel(self, request) -> Channel | None:
        # Only the channel field matters here; the admin already validated the action.
        try:
            channel = CatalogActionForm.base_fields["channel"].clean(request.POST.get("channel"))
        except ValidationError:
            channel = None
        if channel is None:
            self.message_user(request, "Choose a channel next to the action.", messages.ERROR)
        return channel

    def _set_published(self, request, queryset, published: bool) -> None:
        channel = self._action_channel(request)
        if channel is None:
            return
        products = list(queryset.values_list("pk", "name"))
        result = services.listings_set_published(
            channel=channel,
            product_ids=[pk for pk, _ in products],
            published=published,
        )
        audit_record_many(
            user=request.user,
            action=AuditAction.OPERATION,
            model=Product,
            operation=f"{'publish' if published else 'unpublish'} in {channel.code}",
            items=[(pk, name, {"published": [None, published]}) for pk, name in products],
        )
        verb = "Published" if published else "Unpublished"
        self.message_user(
            request, f"{verb} {result.changed} listings in {channel.code}.", messages.SUCCESS
        )
        if result.without_listing:
            shown = ", ".join(result.without_listing[:20])
            more = len(result.without_listing) - 20
            self.message_user(
                request,
                f"{len(result.without_listing)} variants have no price in {channel.code} and "
                f"stay unlisted: {shown}{f' and {more} more' if more > 0 else ''}.",
                messages.WARNING,
            )

    @admin.action(description="Publish selected products to the channel", permissions=["change"])
    @confirm_action("Publish the selected products to the channel?")
    def publish_to_channel(self, request, queryset):
        self._set_published(request, queryset, True)

    @admin.action(
        description="Unpublish selected products from the channel", permissions=["change"]
    )
    @confirm_action("Unpublish the selected products from the channel?")
    def unpublish_from_channel(self, request, queryset):
        self._set_published(request, queryset, False)

    @admin.action(description="Export selected products to CSV", permissions=["view"])
    def export_selected(self, request, queryset):
        return _csv_response(products=queryset)

    def get_urls(self):
        own = [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_view),
                name="catalog_product_import",
            ),
            path(
                "export-csv/",
                self.admin_site.admin_view(self.export_view),
                name="catalog_product_export",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        return _csv_response(products=None)

    def import_view(self, request):
        needed = [
            f"catalog.{action}_{model}"
            for action in ("add", "change")
            for model in ("product", "variant", "listing")
        ]
        if not request.user.has_perms(needed):
            raise PermissionDenied
        report = None
        form = CsvImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                text = io.StringIO(upload.read().decode("utf-8-sig"), newline="")
                report = catalog_csv_import(file=text, dry_run=form.cleaned_data["dry_run"])
            except UnicodeDecodeError:
                form.add_error("file", "The file is not UTF-8 text.")
            except DomainError as exc:
                form.add_error("file", f"File rejected: {exc.message}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import catalog CSV",
            "form": form,
            "report": report,
            "dry_run": bool(form.is_bound and form.cleaned_data.get("dry_run")),
        }
        return TemplateResponse(request, "admin/catalog/import_csv.html", context)


class CsvImportForm(forms.Form):
    file = forms.FileField(help_text="UTF-8 CSV in the format catalog export writes.")
    dry_run = forms.BooleanField(
        required=False, help_text="Validate and report only; nothing is saved."
    )


def _csv_response(*, products) -> HttpResponse:
    buffer = io.StringIO()
    catalog_csv_export(out=buffer, products=products)
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    response = HttpResponse(buffer.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="catalog-{stamp}.csv"'
    return response


# --- listings -----------------------------------------------------------------------------


class ListingForm(forms.ModelForm):
    """Currency is the channel's (set here, never typed); prices carry its precision and the
    compare-at price is not below the price."""

    class Meta:
        model = Listing
        fields = ["variant", "channel", "published", "price", "compare_at_price"]

    def clean(self):
        data = super().clean()
        channel = data.get("channel") or getattr(self.instance, "channel", None)
        if channel is None or data.get("price") is None:
            return data
        try:
            data["price"] = clean_price(data["price"], currency=channel.currency)
            data["compare_at_price"] = clean_price(
                data.get("compare_at_price"),
                currency=channel.currency,
                field="compare_at_price",
                allow_none=True,
            )
            clean_compare_at(data["price"], data["compare_at_price"], field="compare_at_price")
        except CatalogInvalid as exc:
            self.add_error(exc.field, _as_validation_error(exc))
            return data
        self.instance.currency = channel.currency
        return data


class ListingInline(admin.TabularInline):
    model = Listing
    form = ListingForm
    fields = ["channel", "published", "price", "compare_at_price", "currency"]
    readonly_fields = ["currency"]
    extra = 0


class VariantAdminForm(VariantForm):
    class Meta(VariantForm.Meta):
        fields = ["product", *VariantForm.Meta.fields]


@admin.register(Variant)
class VariantAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = VariantAdminForm
    inlines = [ListingInline]
    list_display = ["sku", "product", "name", "barcode", "active"]
    list_filter = ["active"]
    search_fields = ["sku", "barcode", "name", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.channel_products_refresh(product_ids=[form.instance.product_id])

    def delete_model(self, request, obj):
        product_id = obj.product_id
        super().delete_model(request, obj)
        services.channel_products_refresh(product_ids=[product_id])

    def delete_queryset(self, request, queryset):
        product_ids = list(queryset.values_list("product_id", flat=True))
        super().delete_queryset(request, queryset)
        services.channel_products_refresh(product_ids=product_ids)


class PriceChangeForm(forms.Form):
    channel = forms.ModelChoiceField(
        queryset=Channel.objects.order_by("code"),
        required=False,
        help_text="Only this channel's listings (empty: every channel).",
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.order_by("path"),
        required=False,
        help_text="Only products in this category and its descendants (empty: all).",
    )
    percent = forms.DecimalField(
        max_digits=6,
        decimal_places=2,
        help_text="For example 10 raises prices by 10 %, -15 lowers them by 15 %.",
    )
    token = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        data = super().clean()
        if not data.get("channel") and not data.get("category"):
            raise ValidationError("Choose a channel, a category or both.", code="scope_required")
        return data


def _audit_price_change(user, preview) -> None:
    audit_record_many(
        user=user,
        action=AuditAction.UPDATE,
        model=Listing,
        operation=f"price_change {preview.percent}%",
        items=[
            (
                change.listing_id,
                f"{change.sku} in {change.channel_code}",
                {
                    "price": [change.old_price, change.new_price],
                    **(
                        {"compare_at_price": [change.old_compare_at, change.new_compare_at]}
                        if change.old_compare_at != change.new_compare_at
                        else {}
                    ),
                },
            )
            for change in preview.changes
        ],
    )


@admin.register(Listing)
class ListingAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ListingForm
    list_display = [
        "variant",
        "product_name",
        "channel",
        "price",
        "compare_at_price",
        "currency",
        "published",
        "updated_at",
    ]
    list_filter = ["channel", "published", "currency"]
    search_fields = ["variant__sku", "variant__product__name"]
    list_select_related = ["variant__product", "channel"]
    autocomplete_fields = ["variant"]
    readonly_fields = ["currency", "updated_at"]
    actions = ["publish", "unpublish"]
    change_list_template = "admin/catalog/listing/change_list.html"

    @admin.display(description="product", ordering="variant__product__name")
    def product_name(self, obj: Listing) -> str:
        return obj.variant.product.name

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.channel_products_refresh(product_ids=[obj.variant.product_id])

    def delete_model(self, request, obj):
        product_id = obj.variant.product_id
        super().delete_model(request, obj)
        services.channel_products_refresh(product_ids=[product_id])

    def delete_queryset(self, request, queryset):
        product_ids = list(queryset.values_list("variant__product_id", flat=True))
        super().delete_queryset(request, queryset)
        services.channel_products_refresh(product_ids=product_ids)

    def _set_published(self, request, queryset, published: bool) -> int:
        flipping = list(
            queryset.exclude(published=published).values_list("pk", "variant__sku", "channel__code")
        )
        changed = services.listings_publish(
            listing_ids=[pk for pk, _, _ in flipping], published=published
        )
        audit_record_many(
            user=request.user,
            action=AuditAction.UPDATE,
            model=Listing,
            operation="publish" if published else "unpublish",
            items=[
                (pk, f"{sku} in {code}", {"published": [not published, published]})
                for pk, sku, code in flipping
            ],
        )
        return changed

    @admin.action(description="Publish selected listings", permissions=["change"])
    @confirm_action("Publish the selected listings?")
    def publish(self, request, queryset):
        changed = self._set_published(request, queryset, True)
        self.message_user(request, f"Published {changed} listings.", messages.SUCCESS)

    @admin.action(description="Unpublish selected listings", permissions=["change"])
    @confirm_action("Unpublish the selected listings?")
    def unpublish(self, request, queryset):
        changed = self._set_published(request, queryset, False)
        self.message_user(request, f"Unpublished {changed} listings.", messages.SUCCESS)

    def get_urls(self):
        own = [
            path(
                "price-change/",
                self.admin_site.admin_view(self.price_change_view),
                name="catalog_listing_price_change",
            )
        ]
        return own + super().get_urls()

    def price_change_view(self, request):
        """Step 1: choose scope and percentage. Step 2 (preview): every listing's old and new
        price. Step 3 (confirm): apply, refused if prices changed since the preview."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        form = PriceChangeForm(request.POST or None)
        preview = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            scope = {"channel": data["channel"], "category": data["category"]}
            percent = Decimal(data["percent"])
            try:
                if "apply" in request.POST and data["token"]:
                    # The confirmed preview is what apply writes (it refuses a stale token).
                    planned = services.listing_price_change_preview(percent=percent, **scope)
                    count = services.listing_price_change_apply(
                        percent=percent, token=data["token"], **scope
                    )
                    _audit_price_change(request.user, planned)
                    self.message_user(
                        request, f"Changed the prices of {count} listings.", messages.SUCCESS
                    )
                    return HttpResponseRedirect(reverse("admin:catalog_listing_changelist"))
                preview = services.listing_price_change_preview(percent=percent, **scope)
                form = PriceChangeForm(
                    initial={**scope, "percent": percent, "token": preview.token}
                )
            except StalePreview as exc:
                self.message_user(request, exc.message, messages.ERROR)
                preview = services.listing_price_change_preview(percent=percent, **scope)
                form = PriceChangeForm(
                    initial={**scope, "percent": percent, "token": preview.token}
                )
            except CatalogInvalid as exc:
                form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Change prices by percentage",
            "form": form,
            "preview": preview,
            "shown": preview.changes[:PREVIEW_ROWS] if preview else [],
            "hidden_count": max(0, preview.count - PREVIEW_ROWS) if preview else 0,
        }
        return TemplateResponse(request, "admin/catalog/price_change.html", context)
