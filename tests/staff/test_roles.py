"""Roles are groups with the permissions of their job; setting them up twice changes nothing."""

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from omni import roles


@pytest.mark.django_db
def test_setup_roles_is_idempotent():
    first = roles.roles_setup()
    perms_first = {
        g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()
    }
    second = roles.roles_setup()
    assert first == second
    assert Group.objects.count() == len(roles.ROLES)
    assert perms_first == {
        g.name: set(g.permissions.values_list("pk", flat=True)) for g in Group.objects.all()
    }


@pytest.mark.django_db
def test_setup_roles_command_restores_a_tampered_group(capsys):
    call_command("setup_roles")
    group = Group.objects.get(name=roles.ANALYST)
    group.permissions.clear()
    call_command("setup_roles")
    assert group.permissions.exists()
    assert "6 roles set up" in capsys.readouterr().out


def _perms(role: str) -> set[str]:
    group = Group.objects.get(name=role)
    return {
        f"{app}.{codename}"
        for app, codename in group.permissions.values_list("content_type__app_label", "codename")
    }


@pytest.mark.django_db
def test_roles_hold_their_jobs_permissions_and_no_more():
    roles.roles_setup()
    merch = _perms(roles.MERCHANDISER)
    assert {"catalog.change_listing", "promotions.change_promotion"} <= merch
    assert "inventory.change_stock" not in merch
    assert "customers.view_customer" not in merch

    inventory = _perms(roles.INVENTORY_MANAGER)
    assert {"inventory.change_stock", "inventory.add_transfer", roles.ALL_LOCATIONS} <= inventory
    assert "catalog.change_listing" not in inventory

    store = _perms(roles.STORE_STAFF)
    assert {"inventory.view_stock", "inventory.add_stockmovement"} <= store
    assert roles.ALL_LOCATIONS not in store
    assert "inventory.add_transfer" not in store
    assert "customers.change_customer" not in store

    service = _perms(roles.CUSTOMER_SERVICE)
    assert {"customers.merge_customer", "customers.change_customer"} <= service
    assert "catalog.change_listing" not in service

    analyst = _perms(roles.ANALYST)
    assert analyst, "the analyst sees something"
    assert all(p.split(".")[1].startswith(("view_", "export_", "all_")) for p in analyst)
    assert not any(p.startswith("auth.") for p in analyst)

    assert _perms(roles.ADMIN) >= merch | inventory | store | service | analyst
