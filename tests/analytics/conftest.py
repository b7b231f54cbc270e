"""Fixtures of the analytics tests: a small hand-built world of two channels, two variants and
two locations, with the facts of nine orders and one return (expected KPIs worked out by hand
in test_selectors.py)."""

from datetime import date

import pytest

from analytics.models import EventDay, StockDay
from analytics.rollups import rollups_rebuild_all
from tests.analytics.factories import days, location, order_fact, return_fact
from tests.catalog.factories import VariantFactory


@pytest.fixture
def world(db, make_channel):
    web = make_channel("web")
    store = make_channel("store", kind="store")
    v1 = VariantFactory(product__name="Boots")
    v2 = VariantFactory(product__name="Socks")
    l1 = location("loc-one")
    l2 = location("loc-two")
    return {"web": web, "store": store, "v1": v1, "v2": v2, "l1": l1, "l2": l2}


@pytest.fixture
def sample(world):
    """Previous period 2026-02-22..28, current period 2026-03-01..07."""
    w, s = world["web"], world["store"]
    v1, v2, l1, l2 = world["v1"], world["v2"], world["l1"], world["l2"]
    # previous period
    order_fact(
        order_id=100,
        channel=w,
        customer_id=1,
        day=date(2026, 2, 25),
        lines=[(v1, l1, 1, 50, 0)],
        fulfil_hours=10,
    )
    order_fact(
        order_id=108,
        channel=w,
        customer_id=4,
        day=date(2026, 2, 23),
        lines=[(v2, l1, 1, 50, 0)],
        fulfil_hours=4,
    )
    # current period
    order_fact(
        order_id=101,
        channel=w,
        customer_id=1,
        day=date(2026, 3, 1),
        lines=[(v1, l1, 2, 100, 10)],
        fulfil_hours=5,
    )
    order_fact(
        order_id=102,
        channel=w,
        customer_id=1,
        day=date(2026, 3, 3),
        lines=[(v2, l1, 1, 50, 0)],
        fulfil_hours=30,
    )
    order_fact(
        order_id=103,
        channel=s,
        customer_id=2,
        day=date(2026, 3, 2),
        lines=[(v1, l2, 1, 50, 5)],
        pickup=True,
        collected=True,
        fulfil_hours=2,
    )
    order_fact(
        order_id=104,
        channel=s,
        customer_id=None,
        day=date(2026, 3, 4),
        lines=[(v2, l2, 3, 150, 0)],
        fulfil_hours=1,
    )
    order_fact(
        order_id=105,
        channel=w,
        customer_id=2,
        day=date(2026, 3, 5),
        lines=[(v1, l1, 1, 50, 0)],
        cancelled=True,
    )
    order_fact(
        order_id=106,
        channel=w,
        customer_id=3,
        day=date(2026, 3, 6),
        lines=[(v2, l2, 1, 50, 5)],
        pickup=True,
    )
    order_fact(
        order_id=107,
        channel=s,
        customer_id=1,
        day=date(2026, 3, 7),
        lines=[(v1, l2, 1, 50, 0)],
        fulfil_hours=3,
    )
    return_fact(
        order_id=101, channel=w, variant=v1, loc=l2, day=date(2026, 3, 4), quantity=1, amount=45
    )
    EventDay.objects.create(
        channel=w, day=date(2026, 3, 2), kind="product_view", events=90, sessions=40
    )
    EventDay.objects.create(
        channel=w, day=date(2026, 3, 2), kind="add_to_cart", events=12, sessions=10
    )
    EventDay.objects.create(
        channel=w, day=date(2026, 3, 3), kind="checkout_start", events=6, sessions=6
    )
    for day in days(date(2026, 3, 1), 7):
        out = day in (date(2026, 3, 5), date(2026, 3, 6))
        StockDay.objects.create(
            variant=v1, location=l1, day=day, on_hand=0 if out else 10, available=0 if out else 10
        )
        StockDay.objects.create(variant=v2, location=l1, day=day, on_hand=5, available=5)
    rollups_rebuild_all()
    return world


@pytest.fixture
def kpi_client(db, django_user_model):
    """A staff user holding only `analytics.view_kpis`."""
    from django.contrib.auth.models import Permission
    from rest_framework.test import APIClient

    user = django_user_model.objects.create_user("analyst", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_kpis"))
    client = APIClient()
    client.force_authenticate(user)
    return client
