"""Admin for channels and API keys. A new key's secret is shown once, in the success message."""

from django import forms
from django.contrib import admin, messages
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html, format_html_join

from omni.admin_audit import AuditedAdminMixin
from omni.admin_confirm import confirm_action
from omni.models import ApiKey, ApiScope, AuditEntry, Channel
from omni.services import api_key_create, api_key_revoke


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = ["prefix", "name", "scopes", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Channel)
class ChannelAdmin(AuditedAdminMixin, admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "currency",
        "active",
        "safety_stock",
        "availability_cap",
        "availability_share",
    ]
    list_filter = ["kind", "active", "currency"]
    search_fields = ["code", "name"]
    inlines = [ApiKeyInline]
    fieldsets = [
        (
            None,
            {"fields": ["code", "name", "kind", "currency", "active", "timezone", "phone_region"]},
        ),
        (
            "Availability rule",
            {"fields": ["safety_stock", "availability_cap", "availability_share"]},
        ),
    ]


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        widget=forms.CheckboxSelectMultiple,
        initial=[ApiScope.CATALOG, ApiScope.ORDERS, ApiScope.EVENTS],
    )

    class Meta:
        model = ApiKey
        fields = ["channel", "name", "scopes"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "channel",
        "name",
        "scope_list",
        "created_at",
        "last_used_at",
        "status",
    ]
    list_filter = ["channel", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "channel__code"]
    list_select_related = ["channel"]
    readonly_fields = [
        "channel",
        "prefix",
        "scopes",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    fields = [
        "channel",
        "name",
        "prefix",
        "scopes",
        "created_at",
        "created_by",
        "last_used_at",
        "revoked_at",
    ]
    actions = ["revoke_keys"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        return ["channel", "name", "scopes"] if obj is None else self.fields

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.readonly_fields

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        api_key, secret = api_key_create(
            channel=form.cleaned_data["channel"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
        )
        obj.pk = api_key.pk
        messages.warning(
            request,
            format_html(
                "New key for {}: <code>{}</code> — copy it now, it is not shown again.",
                api_key.channel.code,
                secret,
            ),
        )

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the key's history stays

    @admin.display(description="scopes")
    def scope_list(self, obj: ApiKey) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description="status")
    def status(self, obj: ApiKey) -> str:
        return "revoked" if obj.is_revoked else "active"

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    @confirm_action("Revoke these API keys? Their servers stop working at once.", danger=True)
    def revoke_keys(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        self.message_user(request, "Selected keys are revoked.", messages.SUCCESS)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log, read-only: nobody edits or deletes what staff did."""

    list_display = ["created_at", "username", "action", "operation", "content_type",
                    "object_link", "changed_fields", "source"]  # fmt: skip
    list_filter = ["action", "source", "content_type", "operation"]
    search_fields = ["object_repr", "object_id", "username", "operation"]
    list_select_related = ["content_type"]
    date_hierarchy = "created_at"
    fields = ["created_at", "user", "username", "action", "operation", "source", "content_type",
              "object_id", "object_repr", "changes_table"]  # fmt: skip
    readonly_fields = fields
    show_full_result_count = False

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        # "?content_type__id__exact=..&object_id=.." lists one object's trail.
        return lookup == "object_id" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="object", ordering="object_repr")
    def object_link(self, obj: AuditEntry) -> str:
        label = obj.object_repr or obj.object_id
        content_type = obj.content_type
        try:
            url = reverse(
                f"admin:{content_type.app_label}_{content_type.model}_change",
                args=[obj.object_id],
            )
        except NoReverseMatch:
            return label
        return format_html('<a href="{}">{}</a>', url, label)

    @admin.display(description="fields")
    def changed_fields(self, obj: AuditEntry) -> str:
        return ", ".join(obj.changes)

    @admin.display(description="changes (before → after)")
    def changes_table(self, obj: AuditEntry) -> str:
        if not obj.changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><th>{}</th><td>{}</td><td>{}</td></tr>",
            ((name, pair[0], pair[1]) for name, pair in obj.changes.items()),
        )
        return format_html(
            "<table><tr><th>field</th><th>before</th><th>after</th></tr>{}</table>", rows
        )
