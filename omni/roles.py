"""Staff roles as Django groups with permissions; `roles_setup()` creates or refreshes them.

Each role lists permissions as `app_label.codename`; a codename may end in `*` to take every
permission of the app with that prefix (`catalog.*`, `inventory.view_*`), so models added later
(orders, sync, analytics) are covered when their app is installed. Running it again replaces each
group's permissions with the current definition and creates nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.contrib.auth.models import Group, Permission
from django.db import transaction

ADMIN = "Admin"
MERCHANDISER = "Merchandiser"
INVENTORY_MANAGER = "Inventory manager"
STORE_STAFF = "Store staff"
CUSTOMER_SERVICE = "Customer service"
ANALYST = "Analyst"

# Store staff are the only role limited to their assigned locations: every other role holds
# `inventory.all_locations`.
ALL_LOCATIONS = "inventory.all_locations"


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: tuple[str, ...] = field(default_factory=tuple)


READ_CATALOG = ("catalog.view_*", "omni.view_channel")
# The business apps an analyst reads (not auth: users and groups are the admins' business).
BUSINESS_APPS = ("omni", "catalog", "inventory", "customers", "promotions", "orders", "sync",
                 "analytics")  # fmt: skip

ROLES: tuple[Role, ...] = (
    Role(ADMIN, "Everything.", ("*.*",)),
    Role(
        MERCHANDISER,
        "Catalog, listings, prices and promotions; sees stock.",
        (
            "catalog.*",
            "promotions.*",
            "omni.view_channel",
            "inventory.view_stock",
            "inventory.view_stocklocation",
            "inventory.view_lowstockalert",
            "analytics.view_*",
            ALL_LOCATIONS,
        ),
    ),
    Role(
        INVENTORY_MANAGER,
        "Stock of every location, transfers, counts, reservations.",
        (
            "inventory.*",
            *READ_CATALOG,
            "orders.view_order",
            "orders.view_fulfilment",
            "sync.view_*",
            "analytics.view_*",
            "analytics.manage_replenishment",
        ),
    ),
    Role(
        STORE_STAFF,
        "Their own store: its stock, pickup queue, fulfilments, returns received there, "
        "order lookup at the till.",
        (
            "inventory.view_stock",
            "inventory.change_stock",
            "inventory.view_stockmovement",
            "inventory.add_stockmovement",
            "inventory.view_reservation",
            "inventory.view_lowstockalert",
            "inventory.view_stocklocation",
            "inventory.view_transfer",
            "inventory.change_transfer",
            "inventory.view_stockcount",
            *READ_CATALOG,
            "customers.view_customer",
            "orders.view_order",
            "orders.view_fulfilment",
            "orders.change_fulfilment",
            "orders.view_return",
            "orders.add_return",
            "orders.view_refund",
        ),
    ),
    Role(
        CUSTOMER_SERVICE,
        "Customers, orders, returns and merges.",
        (
            "customers.*",
            "orders.*",
            *READ_CATALOG,
            "promotions.view_*",
            "inventory.view_stock",
            "inventory.view_stocklocation",
            ALL_LOCATIONS,
        ),
    ),
    Role(
        ANALYST,
        "Read-only: KPIs, reports and exports.",
        (
            *(f"{app}.view_*" for app in BUSINESS_APPS),
            "customers.export_customer",
            ALL_LOCATIONS,
        ),
    ),
)


def role_permissions(role: Role) -> list[Permission]:
    """The permissions a role's patterns match among the installed apps' permissions."""
    everything = list(Permission.objects.select_related("content_type"))
    chosen = {}
    for pattern in role.permissions:
        app_label, _, codename = pattern.partition(".")
        for perm in everything:
            if app_label != "*" and perm.content_type.app_label != app_label:
                continue
            matches = (
                perm.codename.startswith(codename[:-1])
                if codename.endswith("*")
                else perm.codename == codename
            )
            if matches:
                chosen[perm.pk] = perm
    return list(chosen.values())


@transaction.atomic
def roles_setup() -> dict[str, int]:
    """Create each role's group (if missing) and set its permissions to the definition.
    Idempotent. Returns the number of permissions per role."""
    result = {}
    for role in ROLES:
        group, _ = Group.objects.get_or_create(name=role.name)
        perms = role_permissions(role)
        group.permissions.set(perms)
        result[role.name] = len(perms)
    return result


def user_roles(user) -> list[str]:
    role_names = {role.name for role in ROLES}
    return [g.name for g in user.groups.all() if g.name in role_names]
