"""Rate limits per API key (per staff user for staff, per address for anonymous callers), and
a budget of failed credentials per address."""

from rest_framework import exceptions
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle


def client_address(request) -> str:
    """The caller's address as every per-address limit sees it (these throttles and the staff
    login lockout): REMOTE_ADDR, or with `NUM_PROXIES` trusted proxies in front, the address
    the outermost of them saw in X-Forwarded-For."""
    return BaseThrottle().get_ident(request)


class ApiKeyRateThrottle(SimpleRateThrottle):
    scope = "api_key"

    def get_cache_key(self, request, view):
        user = request.user
        api_key = getattr(user, "api_key", None)  # a channel's server (omni.auth)
        if api_key is not None:
            ident = f"key:{api_key.prefix}"
        elif user and user.is_authenticated:
            ident = f"user:{user.pk}"
        else:
            ident = f"ip:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}


class FailedCredentialsThrottle(SimpleRateThrottle):
    """Failed Api-Key and token attempts per client address. DRF authenticates before it
    throttles, so a wrong key never reaches `ApiKeyRateThrottle`: without this budget a caller
    could try keys without limit, each costing a database lookup. Over the budget an address
    gets 429 (with Retry-After) before its credentials are looked up, right or wrong, until its
    oldest failure leaves the window; successful calls do not count."""

    scope = "failed_credentials"

    def get_cache_key(self, request, view):
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def refuse_if_spent(self, request) -> None:
        """Raise Throttled when the address has used up its failures (reads, records nothing)."""
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        if len(self.history) >= self.num_requests:
            raise exceptions.Throttled(self.wait())

    def record_failure(self, request) -> None:
        self.allow_request(request, None)
