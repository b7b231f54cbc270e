"""Channel API: who am I (for a key holder), and staff management of channels and API keys."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from omni.models import ApiKey, ApiScope, Channel
from omni.permissions import IsChannelOrStaff, request_channel
from omni.services import api_key_create, api_key_revoke


class ChannelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Channel
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "currency",
            "active",
            "safety_stock",
            "availability_cap",
            "availability_share",
            "phone_region",
            "timezone",
            "created_at",
        ]
        read_only_fields = ["id", "created_at"]


class ApiKeySerializer(serializers.ModelSerializer):
    channel = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = ApiKey
        fields = [
            "id",
            "channel",
            "name",
            "prefix",
            "scopes",
            "created_at",
            "last_used_at",
            "revoked_at",
        ]
        read_only_fields = fields


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=120, required=False, allow_blank=True, default="")
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=ApiScope.choices), required=False, allow_empty=False
    )


class ApiKeyCreatedSerializer(ApiKeySerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown once; store it now.")

    class Meta(ApiKeySerializer.Meta):
        fields = [*ApiKeySerializer.Meta.fields, "secret"]
        read_only_fields = fields


class ApiRootView(APIView):
    """Entry point of the API: the calling channel (for a key) and where to go next."""

    permission_classes = [IsChannelOrStaff]

    @extend_schema(responses={200: dict})
    def get(self, request):
        body = {
            "schema": reverse("schema", request=request),
            "docs": reverse("swagger-ui", request=request),
        }
        if request.auth is not None and isinstance(request.auth, ApiKey):
            channel = request_channel(request)
            body["channel"] = ChannelSerializer(channel).data
            body["scopes"] = request.auth.scopes
        return Response(body)


class ChannelViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Staff: channels and their API keys."""

    queryset = Channel.objects.all()
    serializer_class = ChannelSerializer
    lookup_field = "code"
    filterset_fields = ["kind", "active"]

    @extend_schema(request=ApiKeyCreateSerializer, responses={201: ApiKeyCreatedSerializer})
    @action(detail=True, methods=["post"], url_path="api-keys")
    def create_api_key(self, request, code=None):
        channel = self.get_object()
        payload = ApiKeyCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        api_key, secret = api_key_create(
            channel=channel,
            name=payload.validated_data["name"],
            scopes=payload.validated_data.get("scopes"),
            created_by=request.user,
        )
        api_key.secret = secret
        return Response(ApiKeyCreatedSerializer(api_key).data, status=status.HTTP_201_CREATED)


class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Staff: list API keys (never their secrets) and revoke them."""

    queryset = ApiKey.objects.select_related("channel")
    serializer_class = ApiKeySerializer
    filterset_fields = ["channel__code"]

    @extend_schema(request=None, responses={200: ApiKeySerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        if not request.user.has_perm("omni.change_apikey"):
            self.permission_denied(request, message="Revoking keys needs omni.change_apikey.")
        api_key = get_object_or_404(self.get_queryset(), pk=pk)
        return Response(ApiKeySerializer(api_key_revoke(api_key=api_key)).data)
