"""Channel sync API: the inbound webhook endpoint and the staff API for runs, status,
connector settings (credentials masked) and dead letters."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from omni.sync.models import (
    ConnectorSettings,
    MessageStatus,
    OutboundMessage,
    StockDrift,
    SyncMismatch,
    SyncRejection,
    SyncRun,
)
from omni.sync.selectors import channel_sync_status, run_queryset
from omni.sync.services.outbox import messages_replay
from omni.sync.services.webhooks import webhook_receive

DETAIL_ROWS = 200


class WebhookView(APIView):
    """Inbound channel webhooks. The HMAC signature is the authentication: no API key."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []

    @extend_schema(request=dict, responses={202: dict, 200: dict})
    def post(self, request, channel_code: str):
        length = request.META.get("CONTENT_LENGTH")
        received = webhook_receive(
            channel_code=channel_code,
            content_type=request.META.get("CONTENT_TYPE", ""),
            content_length=int(length) if length and length.isdigit() else None,
            read_body=lambda: request.body,
            headers=request.headers,
        )
        event = received.event
        body = {
            "event_id": event.event_id,
            "status": "duplicate" if received.duplicate else event.status,
        }
        return Response(body, status=status.HTTP_200_OK if received.duplicate else 202)


class RejectionSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncRejection
        fields = ["line", "raw", "code", "reason"]


class DriftSerializer(serializers.ModelSerializer):
    class Meta:
        model = StockDrift
        fields = ["sku", "location", "counted", "expected", "drift"]


class MismatchSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncMismatch
        fields = ["sku", "channel_value", "omni_value", "reason"]


class RunSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    # Plain strings in the schema: "status" enums of several apps would collide by name.
    status = serializers.CharField(
        read_only=True, help_text="running, succeeded, partial (some rows rejected) or failed"
    )

    class Meta:
        model = SyncRun
        fields = [
            "id",
            "channel",
            "kind",
            "direction",
            "source",
            "status",
            "started_at",
            "finished_at",
            "rows_read",
            "rows_applied",
            "rows_unchanged",
            "rows_rejected",
            "error",
        ]
        read_only_fields = fields


class RunDetailSerializer(RunSerializer):
    rejections = serializers.SerializerMethodField()
    drifts = serializers.SerializerMethodField()
    mismatches = serializers.SerializerMethodField()

    class Meta(RunSerializer.Meta):
        fields = [*RunSerializer.Meta.fields, "rejections", "drifts", "mismatches"]
        read_only_fields = fields

    def get_rejections(self, run) -> list[dict]:
        return RejectionSerializer(run.rejections.all()[:DETAIL_ROWS], many=True).data

    def get_drifts(self, run) -> list[dict]:
        return DriftSerializer(run.drifts.all()[:DETAIL_ROWS], many=True).data

    def get_mismatches(self, run) -> list[dict]:
        return MismatchSerializer(run.mismatches.all()[:DETAIL_ROWS], many=True).data


class RunFilter(django_filters.FilterSet):
    channel = django_filters.CharFilter(field_name="channel__code")

    class Meta:
        model = SyncRun
        fields = ["channel", "kind", "direction", "status"]


class RunViewSet(viewsets.ReadOnlyModelViewSet):
    """Sync runs, newest first; a run's detail lists its rejected rows, drifts, mismatches."""

    queryset = run_queryset()
    filterset_class = RunFilter

    def get_serializer_class(self):
        return RunDetailSerializer if self.action == "retrieve" else RunSerializer


class ConnectorSettingsSerializer(serializers.ModelSerializer):
    """Credentials are never returned: only which environment variable holds them and
    whether it is set."""

    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    credential_set = serializers.SerializerMethodField()
    signing_secret_set = serializers.SerializerMethodField()
    # Blank when the channel takes no pushes, so not a `uri` in the schema.
    push_url = serializers.CharField(read_only=True, help_text="Where signed JSON pushes go.")

    class Meta:
        model = ConnectorSettings
        fields = [
            "id",
            "channel",
            "kind",
            "active",
            "orders_source",
            "stock_source",
            "prices_source",
            "view_source",
            "push_url",
            "pull_kinds",
            "push_kinds",
            "credential_env",
            "credential_set",
            "signing_secret_env",
            "signing_secret_set",
            "coalesce_seconds",
            "max_attempts",
            "backoff_seconds",
            "timeout_seconds",
        ]
        read_only_fields = fields

    def get_credential_set(self, obj) -> bool:
        return bool(obj.credential())

    def get_signing_secret_set(self, obj) -> bool:
        return bool(obj.signing_secret())


class ConnectorSettingsViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = ConnectorSettings.objects.select_related("channel").order_by("channel__code")
    serializer_class = ConnectorSettingsSerializer


class StatusSerializer(serializers.Serializer):
    channel_id = serializers.IntegerField()
    channel_code = serializers.CharField()
    kind = serializers.CharField()
    last_success_at = serializers.DateTimeField(allow_null=True)
    lag_seconds = serializers.IntegerField(allow_null=True)
    running = serializers.IntegerField()
    last_failed_at = serializers.DateTimeField(allow_null=True)


class StatusView(APIView):
    """Each channel's last successful sync and its lag, for the dashboard."""

    staff_permissions = ["sync.view_syncrun"]

    @extend_schema(responses=StatusSerializer(many=True))
    def get(self, request):
        return Response(StatusSerializer(channel_sync_status(), many=True).data)


class MessageSerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)
    status = serializers.CharField(
        read_only=True, help_text="pending, sending, sent or dead (a dead letter)"
    )

    class Meta:
        model = OutboundMessage
        fields = [
            "id",
            "channel",
            "kind",
            "status",
            "attempts",
            "max_attempts",
            "next_attempt_at",
            "last_status_code",
            "last_error",
            "created_at",
            "sent_at",
            "dead_at",
            "replayed_count",
            "payload",
        ]
        read_only_fields = fields


class MessageFilter(django_filters.FilterSet):
    channel = django_filters.CharFilter(field_name="channel__code")

    class Meta:
        model = OutboundMessage
        fields = ["channel", "kind", "status"]


class MessageViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Outbound messages (filter `status=dead` for the dead letters) and their replay."""

    queryset = OutboundMessage.objects.select_related("channel")
    serializer_class = MessageSerializer
    filterset_class = MessageFilter

    @property
    def staff_permissions(self) -> list[str] | None:
        # Replaying changes a message; reading needs only the view permission.
        return ["sync.change_outboundmessage"] if self.action == "replay" else None

    @extend_schema(request=None, responses={200: dict})
    @action(detail=True, methods=["post"])
    def replay(self, request, pk=None):
        message = self.get_object()
        if message.status != MessageStatus.DEAD:
            return Response(
                {"code": "not_dead", "detail": "Only dead letters are replayed."},
                status=status.HTTP_409_CONFLICT,
            )
        messages_replay(message_ids=[message.pk])
        return Response({"id": message.pk, "status": MessageStatus.PENDING})
