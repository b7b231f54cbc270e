"""The demo creates the roles and one login per role, once; the store login works at the
Downtown store."""

import io

import pytest
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from inventory import demo as inventory_demo
from inventory.models import StaffLocation
from omni import demo as omni_demo
from omni import roles
from tests.inventory.factories import StockLocationFactory


def _command() -> BaseCommand:
    command = BaseCommand(stdout=io.StringIO())
    return command


@pytest.mark.django_db
def test_demo_creates_one_login_per_role_once():
    first = _command()
    omni_demo.load(first)
    output = first.stdout.getvalue()
    users = get_user_model().objects.filter(username__in=[u for u, _ in omni_demo.ROLE_USERS])
    assert {u.username: [g.name for g in u.groups.all()] for u in users} == {
        username: [role] for username, role in omni_demo.ROLE_USERS
    }
    assert all(u.is_staff and not u.is_superuser for u in users)
    assert "Store staff login: store / " in output  # the password, shown once

    second = _command()
    omni_demo.load(second)
    assert get_user_model().objects.count() == len(omni_demo.ROLE_USERS) + 1  # + admin
    assert "Store staff login: store (exists; password unchanged)" in second.stdout.getvalue()

    downtown = StockLocationFactory(code=omni_demo.STORE_STAFF_LOCATION, kind="store")
    for _ in range(2):
        inventory_demo._assign_store_staff(io.StringIO(), {downtown.code: downtown})
    assert list(StaffLocation.objects.values_list("user__username", "location__code")) == [
        ("store", omni_demo.STORE_STAFF_LOCATION)
    ]
    assert roles.STORE_STAFF in {g.name for g in users.get(username="store").groups.all()}
