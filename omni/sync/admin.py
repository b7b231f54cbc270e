"""Admin of channel sync: connector settings (credentials masked), runs with their rejected
rows, drifts and mismatches inline, outbound messages with a dead-letter replay action."""

import json

from django import forms
from django.contrib import admin, messages
from django.db.models import OuterRef, Subquery
from django.utils.html import format_html
from django.utils.timesince import timesince

from omni.admin_confirm import confirm_action
from omni.audit import AuditAction, audit_record_many
from omni.sync import dashboard
from omni.sync.connectors import connector_kinds
from omni.sync.models import (
    ConnectorSettings,
    Direction,
    InboundEvent,
    MessageStatus,
    OutboundMessage,
    PullKind,
    PushKind,
    RunStatus,
    StockDrift,
    SyncMismatch,
    SyncRejection,
    SyncRun,
)
from omni.sync.services.outbox import messages_replay


class ConnectorSettingsForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=())
    pull_kinds = forms.MultipleChoiceField(
        choices=PullKind.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    push_kinds = forms.MultipleChoiceField(
        choices=PushKind.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    push_url = forms.URLField(max_length=500, required=False, assume_scheme="https")

    class Meta:
        model = ConnectorSettings
        exclude: list[str] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, c.label) for k, c in sorted(connector_kinds().items())]

    def clean(self):
        data = super().clean()
        kind = connector_kinds().get(data.get("kind"))
        if kind is None:
            return data
        for field, able in (("pull_kinds", kind.pulls), ("push_kinds", kind.pushes)):
            extra = set(data.get(field) or []) - set(able)
            if extra:
                self.add_error(field, f"{kind.label} cannot do: {', '.join(sorted(extra))}.")
        return data


@admin.register(ConnectorSettings)
class ConnectorSettingsAdmin(admin.ModelAdmin):
    form = ConnectorSettingsForm
    list_display = [
        "channel",
        "kind",
        "active",
        "last_success",
        "lag",
        "credential_state",
        "secret_state",
        "push_url",
    ]
    list_filter = ["kind", "active"]
    search_fields = ["channel__code", "channel__name"]
    list_select_related = ["channel"]
    fieldsets = [
        (None, {"fields": ["channel", "kind", "active", "pull_kinds", "push_kinds"]}),
        (
            "Endpoints",
            {
                "fields": [
                    "orders_source",
                    "stock_source",
                    "prices_source",
                    "view_source",
                    "stock_location",
                    "push_url",
                ]
            },
        ),
        (
            "Credentials (environment variable names; values are never stored or shown)",
            {
                "fields": [
                    "credential_env",
                    "credential_state",
                    "signing_secret_env",
                    "secret_state",
                ]
            },
        ),
        (
            "Delivery",
            {"fields": ["coalesce_seconds", "max_attempts", "backoff_seconds", "timeout_seconds"]},
        ),
    ]
    readonly_fields = ["credential_state", "secret_state"]

    def get_queryset(self, request):
        succeeded = SyncRun.objects.filter(
            channel=OuterRef("channel"), status__in=[RunStatus.SUCCEEDED, RunStatus.PARTIAL]
        ).exclude(direction=Direction.RECONCILE)
        return (
            super()
            .get_queryset(request)
            .annotate(
                last_success_at=Subquery(
                    succeeded.order_by("-finished_at").values("finished_at")[:1]
                )
            )
        )

    @admin.display(description="last successful sync", ordering="last_success_at")
    def last_success(self, obj):
        return obj.last_success_at or "never"

    @admin.display(description="lag")
    def lag(self, obj) -> str:
        if not obj.last_success_at:
            return "—"
        return timesince(obj.last_success_at)

    @admin.display(description="credential")
    def credential_state(self, obj) -> str:
        if not obj.credential_env:
            return "—"
        return "set (••••••)" if obj.credential() else "variable not set"

    @admin.display(description="signing secret")
    def secret_state(self, obj) -> str:
        if not obj.signing_secret_env:
            return "—"
        return "set (••••••)" if obj.signing_secret() else "variable not set"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    max_num = 0

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class RejectionInline(ReadOnlyInline):
    model = SyncRejection
    fields = ["line", "code", "reason", "raw"]
    readonly_fields = fields


class DriftInline(ReadOnlyInline):
    model = StockDrift
    fields = ["sku", "location", "counted", "expected", "drift"]
    readonly_fields = fields


class MismatchInline(ReadOnlyInline):
    model = SyncMismatch
    fields = ["sku", "channel_value", "omni_value", "reason"]
    readonly_fields = fields


@admin.register(SyncRun)
class SyncRunAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "channel",
        "direction",
        "kind",
        "status",
        "started_at",
        "finished_at",
        "rows_read",
        "rows_applied",
        "rows_unchanged",
        "rows_rejected",
    ]
    list_filter = ["status", "direction", "kind", "channel"]
    list_select_related = ["channel"]
    date_hierarchy = "started_at"
    search_fields = ["kind", "source", "error", "channel__code"]
    inlines = [RejectionInline, DriftInline, MismatchInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in SyncRun._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(InboundEvent)
class InboundEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "channel", "type", "status", "received_at", "processed_at"]
    list_filter = ["status", "type", "channel"]
    search_fields = ["event_id"]
    list_select_related = ["channel"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in InboundEvent._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "channel",
        "kind",
        "status",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_status_code",
        "short_error",
        "replayed_count",
    ]
    list_filter = ["status", "kind", "channel"]
    list_select_related = ["channel"]
    search_fields = ["dedup_key", "last_error", "channel__code"]
    actions = ["replay_dead_letters"]
    exclude = ["payload"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in OutboundMessage._meta.fields if f.name != "payload"] + [
            "payload_pretty"
        ]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="payload")
    def payload_pretty(self, obj) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2)[:20000])

    @admin.display(description="last error")
    def short_error(self, obj) -> str:
        return obj.last_error[:80]

    @admin.action(description="Replay selected dead letters", permissions=["change"])
    @confirm_action("Replay these dead letters (they are sent to the channel again)?")
    def replay_dead_letters(self, request, queryset):
        ids = list(queryset.filter(status=MessageStatus.DEAD).values_list("pk", flat=True))
        count = messages_replay(message_ids=ids)
        audit_record_many(
            user=request.user,
            action=AuditAction.OPERATION,
            model=OutboundMessage,
            operation="replay",
            items=[(pk, f"outbound message #{pk}", {"status": ["dead", "pending"]}) for pk in ids],
        )
        skipped = queryset.count() - count
        self.message_user(request, f"{count} message(s) queued again.", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} selected message(s) were not dead; left alone.", messages.INFO
            )


dashboard.register()
