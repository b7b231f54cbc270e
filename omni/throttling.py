"""Rate limits per API key (per staff user for staff, per address for anonymous callers)."""

from rest_framework.throttling import SimpleRateThrottle

from omni.auth import ChannelPrincipal


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        user = request.user
        if isinstance(user, ChannelPrincipal):
            ident = f"key:{user.api_key.prefix}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
