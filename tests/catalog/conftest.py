"""Catalog fixtures: a fake availability provider (restored afterwards) and staff clients."""

from collections.abc import Iterable

import pytest
from django.contrib.auth.models import Permission
from django.db.models import Case, IntegerField, Q, Value, When
from rest_framework.test import APIClient

from catalog.availability import (
    availability_provider,
    register_availability_provider,
)
from omni.models import Channel


class FakeAvailability:
    """Available-to-sell from a dict {(channel_id, variant_id): units}; no queries."""

    def __init__(self):
        self.units: dict[tuple[int, int], int] = {}

    def set(self, channel: Channel, variant, units: int) -> None:
        self.units[(channel.pk, variant.pk)] = units

    def available_to_sell(self, *, channel: Channel, variant_ids: Iterable[int]) -> dict[int, int]:
        return {
            vid: self.units[(channel.pk, vid)]
            for vid in variant_ids
            if (channel.pk, vid) in self.units
        }

    def in_stock_variants_q(self, *, channel: Channel) -> Q:
        ids = [vid for (cid, vid), units in self.units.items() if cid == channel.pk and units > 0]
        return Q(pk__in=ids)


class FakeAvailabilityInSql(FakeAvailability):
    """The same figures, also offered as a SQL expression the storefront folds into its
    offers query (as the inventory provider does)."""

    def available_to_sell_expression(self, *, channel: Channel, variant_ref: str):
        whens = [
            When(**{variant_ref: vid}, then=Value(max(0, units)))
            for (cid, vid), units in self.units.items()
            if cid == channel.pk
        ]
        return Case(*whens, default=Value(0), output_field=IntegerField())


@pytest.fixture(params=["lookup", "sql"])
def fake_stock(request):
    """A fake provider, once answering `available_to_sell` only and once also as SQL."""
    previous = availability_provider()
    fake = FakeAvailability() if request.param == "lookup" else FakeAvailabilityInSql()
    register_availability_provider(fake)
    yield fake
    register_availability_provider(previous)


@pytest.fixture
def staff_client(db, django_user_model):
    """A staff user's client with the given catalog permissions (codenames)."""

    def make(*codenames: str) -> APIClient:
        user = django_user_model.objects.create_user(
            f"staff-{len(codenames)}-{'-'.join(codenames)}"[:150], is_staff=True
        )
        if codenames:
            user.user_permissions.set(
                Permission.objects.filter(content_type__app_label="catalog", codename__in=codenames)
            )
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make
