"""The row locks promotions takes, always in primary-key order."""

from collections.abc import Iterable

from promotions.models import Voucher


def voucher_for_update(*, code: str) -> Voucher | None:
    """Lock one voucher row (its usage counter and redemptions are checked under it)."""
    return (
        Voucher.objects.filter(code=code)
        .select_related("promotion")
        .select_for_update(of=("self",))
        .first()
    )


def vouchers_for_update(*, ids: Iterable[int]) -> list[Voucher]:
    return list(
        Voucher.objects.filter(pk__in=set(ids)).order_by("pk").select_for_update(of=("self",))
    )
