"""Schemathesis fuzzes every storefront and staff operation of the OpenAPI document with valid
credentials (a channel key for storefront operations, a staff token for the rest): no answer may
be a 5xx, and every answer must match the document (status code, content type, body schema).
Each generated request is sent as generated and, when its path or query names objects, once
more naming real objects, so their detail and actions are exercised too. Few examples per
operation, derandomized and without shrinking, so the run is quick and repeatable."""

import re

import pytest
import schemathesis
from django.urls import resolve
from drf_spectacular.generators import SchemaGenerator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from omni.permissions import IsChannelOrStaff
from omni.wsgi import application
from tests.fuzz.world import World

pytestmark = pytest.mark.postgres

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 11,
        "generation": {
            "max-examples": 4,
            "deterministic": True,
            "no-shrink": True,
            "database": "none",
        },
        "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
        "suppress-health-check": ["all"],
    }
)

schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=CONFIG
)
schema.app = application

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def view_class(path: str):
    sample = re.sub(r"\{[^}]+\}", "1", path.replace("{step}", "pack"))
    view = resolve(sample).func
    return getattr(view, "cls", None) or getattr(view, "view_class", None)


def is_storefront(path: str) -> bool:
    """Storefront operations take a channel key; everything else is for staff."""
    return IsChannelOrStaff in getattr(view_class(path), "permission_classes", [])


def real_path_parameters(path: str, names, world: World) -> dict:
    """Ids of existing objects for the path: the view's own (`id`, `code`) from its queryset,
    the others (order number, fulfilment, product...) from the world."""
    values = {}
    queryset = getattr(view_class(path), "queryset", None)
    for name in names:
        if name in ("id", "code") and queryset is not None:
            field = "pk" if name == "id" else name
            value = queryset.model._default_manager.order_by("pk")
            value = value.values_list(field, flat=True).first()
        else:
            value = world.path_values.get(name)
        if value is not None:
            values[name] = value
    return values


@pytest.fixture
def webhook_secret(monkeypatch):
    # The world's webhook connector reads its signing secret from this variable.
    monkeypatch.setenv("OMNI_TEST_SYNC_SECRET", "fuzz-webhook-secret")


@schema.parametrize()
def test_api_answers_within_its_schema(case, world, webhook_secret, db):
    path = case.operation.path
    token = f"Api-Key {world.channel_key}" if is_storefront(path) else f"Token {world.staff_token}"
    headers = {"Authorization": token}
    case.call_and_validate(headers=headers, checks=CHECKS)
    real = real_path_parameters(path, case.path_parameters or {}, world)
    query = {
        name: world.query_values[name] for name in (case.query or {}) if name in world.query_values
    }
    if real or query:
        again = case.operation.Case(
            path_parameters={**(case.path_parameters or {}), **real},
            query={**(case.query or {}), **query},
            headers=case.headers,
            cookies=case.cookies,
            body=case.body,
            media_type=case.media_type,
        )
        again.call_and_validate(headers=headers, checks=CHECKS)
