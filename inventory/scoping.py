"""Store-staff scoping: which stock locations a staff user may see and change.

A user is limited to their assigned locations (`StaffLocation`) unless they are a superuser or
hold `inventory.all_locations`; a member of the store-staff role without an assignment sees no
location at all. Users of neither kind (no assignment, not store staff) are not limited: their
model permissions decide. The admin and the staff API filter their querysets with
`scope_queryset`, and check named locations with `location_check`, so scoping holds for
direct URLs and API calls, not only in menus.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from inventory.errors import LocationOutOfScope
from inventory.models import StaffLocation
from omni.roles import ALL_LOCATIONS, STORE_STAFF

_CACHE = "_omni_location_scope"


def location_scope(user) -> frozenset[int] | None:
    """Location ids `user` is limited to, or None when not limited. Cached on the user object
    (one request); at most two queries the first time."""
    if user is None or not getattr(user, "is_authenticated", False):
        return frozenset()
    if hasattr(user, _CACHE):
        return getattr(user, _CACHE)
    scope: frozenset[int] | None
    if user.is_superuser or user.has_perm(ALL_LOCATIONS):
        scope = None
    else:
        assigned = frozenset(
            StaffLocation.objects.filter(user_id=user.pk).values_list("location_id", flat=True)
        )
        store_staff = bool(assigned) or user.groups.filter(name=STORE_STAFF).exists()
        scope = assigned if store_staff else None
    setattr(user, _CACHE, scope)
    return scope


def is_location_scoped(user) -> bool:
    return location_scope(user) is not None


def scope_queryset(queryset: QuerySet, user, *paths: str) -> QuerySet:
    """`queryset` limited to rows whose location (reached by any of `paths`, for example
    "location" or "stock__location") is in the user's scope; unchanged for unlimited users."""
    scope = location_scope(user)
    if scope is None:
        return queryset
    condition = Q()
    for path in paths or ("location",):
        condition |= Q(**{f"{path}__in": scope})
    return queryset.filter(condition)


def location_check(user, location_id: int, *, field: str = "location") -> None:
    """Refuse (403, `location_out_of_scope`) a location outside the user's scope."""
    scope = location_scope(user)
    if scope is not None and location_id not in scope:
        raise LocationOutOfScope(
            "You can only work with the stock of your assigned store(s).", field=field
        )


def staff_locations_assign(*, user, location_ids: list[int]) -> None:
    """Set `user`'s assigned locations to exactly `location_ids`."""
    StaffLocation.objects.filter(user=user).exclude(location_id__in=location_ids).delete()
    existing = set(StaffLocation.objects.filter(user=user).values_list("location_id", flat=True))
    StaffLocation.objects.bulk_create(
        [StaffLocation(user=user, location_id=lid) for lid in location_ids if lid not in existing]
    )
    if hasattr(user, _CACHE):
        delattr(user, _CACHE)
