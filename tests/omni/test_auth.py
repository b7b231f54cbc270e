"""API-key authentication: the key decides the channel and nothing else gets in."""

import pytest
from django.utils import timezone

from omni.models import ApiKey
from omni.services import api_key_create, api_key_revoke

pytestmark = pytest.mark.django_db


def call(api_client, secret: str | None):
    if secret is not None:
        api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return api_client.get("/api/v1/")


def test_valid_key_resolves_its_channel(api_client, channel):
    _, secret = api_key_create(channel=channel)
    response = call(api_client, secret)
    assert response.status_code == 200
    assert response.json()["channel"]["code"] == "web"


def test_secret_is_stored_hashed_and_never_in_plain(channel):
    api_key, secret = api_key_create(channel=channel)
    stored = ApiKey.objects.get(pk=api_key.pk)
    assert secret not in (stored.hashed_secret, stored.prefix)
    assert len(stored.hashed_secret) == 64
    assert secret.startswith(f"omni_{stored.prefix}_")


@pytest.mark.parametrize(
    "mangle",
    [
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # right prefix, wrong secret
        lambda s: "omni_ffffffff_" + s.split("_", 2)[2],  # unknown prefix
        lambda s: "not-a-key",
        lambda s: "",
    ],
)
def test_wrong_key_is_401_with_code(api_client, channel, mangle):
    _, secret = api_key_create(channel=channel)
    response = call(api_client, mangle(secret))
    assert response.status_code == 401
    assert response.json()["code"] in {"invalid_api_key", "authentication_failed"}


def test_revoked_key_is_401(api_client, channel):
    api_key, secret = api_key_create(channel=channel)
    api_key_revoke(api_key=api_key)
    response = call(api_client, secret)
    assert response.status_code == 401
    assert response.json()["code"] == "invalid_api_key"


def test_inactive_channel_is_401(api_client, channel):
    _, secret = api_key_create(channel=channel)
    channel.active = False
    channel.save(update_fields=["active"])
    assert call(api_client, secret).status_code == 401


def test_key_of_channel_a_never_resolves_to_b(make_channel, api_client):
    a = make_channel("chan-a")
    b = make_channel("chan-b")
    _, secret_a = api_key_create(channel=a)
    api_key_create(channel=b)
    for _ in range(3):
        assert call(api_client, secret_a).json()["channel"]["code"] == "chan-a"


def test_no_credentials_is_401(api_client, db):
    response = api_client.get("/api/v1/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_last_used_is_recorded_at_most_once_a_minute(api_client, channel):
    api_key, secret = api_key_create(channel=channel)
    call(api_client, secret)
    first = ApiKey.objects.get(pk=api_key.pk).last_used_at
    assert first is not None
    call(api_client, secret)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at == first
    an_hour_ago = timezone.now() - timezone.timedelta(hours=1)
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=an_hour_ago)
    call(api_client, secret)
    assert ApiKey.objects.get(pk=api_key.pk).last_used_at > first


def test_staff_endpoint_refuses_storefront_key(key_client, channel):
    response = key_client(channel).get("/api/v1/channels/")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_staff_token_reaches_staff_endpoint(api_client, admin_user, channel):
    from rest_framework.authtoken.models import Token

    token = Token.objects.create(user=admin_user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    response = api_client.get("/api/v1/channels/")
    assert response.status_code == 200
    assert [c["code"] for c in response.json()["results"]] == ["web"]


def test_staff_without_permission_is_refused(api_client, staff_user, channel):
    api_client.force_authenticate(staff_user)
    assert api_client.get("/api/v1/channels/").status_code == 403


def test_staff_creates_key_secret_shown_once_then_revokes(admin_client_api, api_client, channel):
    response = admin_client_api.post(
        "/api/v1/channels/web/api-keys/", {"name": "pos", "scopes": ["catalog"]}, format="json"
    )
    assert response.status_code == 201
    secret = response.json()["secret"]
    key_id = response.json()["id"]
    assert "secret" not in admin_client_api.get(f"/api/v1/api-keys/{key_id}/").json()
    assert call(api_client, secret).status_code == 200
    assert admin_client_api.post(f"/api/v1/api-keys/{key_id}/revoke/").status_code == 200
    assert call(api_client, secret).status_code == 401


def test_throttle_answers_429_per_key(monkeypatch, api_client, channel, make_channel):
    from omni.throttling import ApiKeyRateThrottle

    monkeypatch.setattr(ApiKeyRateThrottle, "rate", "3/min", raising=False)
    _, secret = api_key_create(channel=channel)
    _, other_secret = api_key_create(channel=make_channel("other"))
    codes = [call(api_client, secret).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    throttled = call(api_client, secret)
    assert throttled.json()["code"] == "throttled"
    assert "Retry-After" in throttled.headers
    assert call(api_client, other_secret).status_code == 200


def test_authenticating_a_recently_used_key_writes_nothing(
    api_client, channel, django_assert_num_queries
):
    from omni.services import api_key_authenticate

    _, secret = api_key_create(channel=channel)
    api_key_authenticate(secret)  # first use: records last_used_at
    with django_assert_num_queries(1):  # the lookup only
        assert api_key_authenticate(secret) is not None
