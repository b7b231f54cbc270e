"""Every staff operation of the OpenAPI document refuses a storefront key, whatever its scopes,
before doing anything; storefront operations stay reachable with the key."""

import re

import pytest
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator

from omni.permissions import IsChannelOrStaff

pytestmark = pytest.mark.django_db

WRITE = {"post", "put", "patch", "delete"}


def operations():
    document = SchemaGenerator().get_schema(request=None, public=True)
    for path, item in document["paths"].items():
        url = re.sub(r"\{[^}]+\}", "1", path.replace("{step}", "pack"))
        match = resolve(url)
        view = getattr(match.func, "cls", None) or getattr(match.func, "view_class", None)
        classes = getattr(view, "permission_classes", [])
        for method in item:
            yield url, method, IsChannelOrStaff in classes, view


def test_storefront_keys_are_refused_by_every_staff_operation(shop_client, shop):
    from omni.models import Channel

    staff_ops = [(u, m) for u, m, storefront, view in operations() if not storefront]
    staff_ops = [(u, m) for u, m in staff_ops if not u.startswith("/api/v1/webhooks/")]
    assert len(staff_ops) > 100
    refused = {}
    for url, method in staff_ops:
        response = getattr(shop_client, method)(url, {}, format="json")
        refused[(method, url)] = response.status_code
        assert response.status_code in (401, 403), (method, url, response.status_code)
        assert response.json()["code"] in ("permission_denied", "not_authenticated")
    assert set(refused.values()) == {403}
    assert Channel.objects.get(pk=shop.pk).active  # nothing was changed on the way


def test_the_webhook_takes_no_api_key_at_all(shop_client, shop):
    response = shop_client.post(f"/api/v1/webhooks/{shop.code}/", {}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "unknown_channel"


def test_a_key_without_the_scope_is_refused_by_storefront_operations(api_client, shop):
    from omni.services import api_key_create

    _, secret = api_key_create(channel=shop, scopes=["events"])
    api_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    for method, url in [
        ("get", "/api/v1/products/"),
        ("post", "/api/v1/orders/"),
        ("get", "/api/v1/customers/lookup/?email=a@example.com"),
    ]:
        response = getattr(api_client, method)(url, {}, format="json")
        assert response.status_code == 403, (method, url)
