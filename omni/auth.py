"""API authentication: `Authorization: Api-Key <key>` resolves the calling channel."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from omni.models import ApiKey, Channel
from omni.services import api_key_authenticate
from omni.throttling import FailedCredentialsThrottle

KEYWORD = b"api-key"


@dataclass(frozen=True)
class ChannelPrincipal:
    """`request.user` for a channel's server: it is authenticated but is nobody on the staff."""

    api_key: ApiKey

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None
    id = None

    @property
    def channel(self) -> Channel:
        return self.api_key.channel

    def has_perm(self, perm, obj=None) -> bool:
        return False

    def has_perms(self, perms, obj=None) -> bool:
        return False

    def __str__(self) -> str:
        return f"channel:{self.channel.code}"


def _guarded(request, check):
    """Run `check()` (one scheme's credential check) within the address's budget of failures:
    refused with 429 once it is spent, before the credentials are looked up; a failure counts."""
    budget = FailedCredentialsThrottle()
    budget.refuse_if_spent(request)
    try:
        return check()
    except exceptions.AuthenticationFailed:
        budget.record_failure(request)
        raise


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != KEYWORD:
            return None
        return _guarded(request, lambda: self._check(header))

    def _check(self, header):
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Malformed Api-Key header: expected 'Api-Key <key>'."), code="invalid_api_key"
            )
        try:
            raw_key = header[1].decode()
        except UnicodeDecodeError as exc:
            raise exceptions.AuthenticationFailed(
                _("Api-Key contains invalid characters."), code="invalid_api_key"
            ) from exc
        api_key = api_key_authenticate(raw_key)
        if api_key is None:
            raise exceptions.AuthenticationFailed(
                _("Unknown or revoked API key, or the channel is inactive."),
                code="invalid_api_key",
            )
        return ChannelPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        return "Api-Key"


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's staff token authentication within the same budget of failures per address."""

    def authenticate(self, request):
        header = get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        return _guarded(request, lambda: super(TokenAuthentication, self).authenticate(request))


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "omni.auth.ApiKeyAuthentication"
    name = "ApiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: the key decides the channel.",
        }
