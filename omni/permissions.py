"""API permissions: channel keys reach storefront endpoints within their scopes; staff endpoints
need a staff user holding the model permission (or the view's declared permission)."""

from rest_framework import permissions

from omni.auth import ChannelPrincipal
from omni.errors import InvalidInput, NotFound
from omni.models import Channel


def is_channel_request(request) -> bool:
    return isinstance(request.user, ChannelPrincipal)


class IsStaffWithModelPermission(permissions.DjangoModelPermissions):
    """Staff only. Views with a queryset need the model's add/change/delete/view permission for
    the method; other views may name the permissions they need in `staff_permissions`."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
    }
    message = "Staff credentials with the required permission are needed."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_staff and user.is_active):
            return False
        required = getattr(view, "staff_permissions", None)
        if required is not None:
            return user.has_perms(required)
        if getattr(view, "queryset", None) is None and not hasattr(view, "get_queryset"):
            return True
        return super().has_permission(request, view)


class IsChannelOrStaff(permissions.BasePermission):
    """Storefront endpoints: a channel key carrying the view's `required_scope`, or a staff user
    (who names the channel with the `X-Channel` header or `channel` parameter)."""

    message = "An API key with the required scope, or staff credentials, are needed."

    def has_permission(self, request, view) -> bool:
        user = request.user
        if isinstance(user, ChannelPrincipal):
            scope = getattr(view, "required_scope", None)
            return scope is None or user.api_key.has_scope(scope)
        if not (user and user.is_authenticated and user.is_staff and user.is_active):
            return False
        required = getattr(view, "staff_permissions", None)
        return required is None or user.has_perms(required)


def request_channel(request) -> Channel:
    """The channel a storefront request acts in: the key's channel, or the one staff name."""
    if isinstance(request.user, ChannelPrincipal):
        return request.user.channel
    code = request.headers.get("X-Channel") or request.query_params.get("channel")
    if not code:
        raise InvalidInput(
            "Staff requests to channel endpoints name the channel "
            "(X-Channel header or channel parameter).",
            code="channel_required",
            field="channel",
        )
    channel = Channel.objects.filter(code=code).first()
    if channel is None:
        raise NotFound(f"Unknown channel {code!r}.", code="unknown_channel", field="channel")
    return channel
