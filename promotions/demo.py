"""Demo promotions and voucher codes over whatever catalogue the demo loaded. Idempotent:
each promotion is found by name, each code by its text, the batch by its prefix."""

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from catalog.models import Category
from omni.models import Channel
from promotions.models import DiscountType, Promotion, PromotionKind, Trigger, Voucher
from promotions.services import promotion_save, voucher_batch_create, voucher_create

D = Decimal


def _categories_with_products() -> list[Category]:
    return list(
        Category.objects.annotate(n=Count("products")).filter(n__gt=0).order_by("-n", "path")[:2]
    )


@transaction.atomic
def load(command) -> None:
    out = command.stdout
    now = timezone.now()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    categories = _categories_with_products()
    web = Channel.objects.filter(code="web").first()

    specs: list[tuple[dict, dict]] = [
        (
            {
                "name": "Sitewide sale: 10% off",
                "kind": PromotionKind.CATALOGUE,
                "discount_type": DiscountType.PERCENT,
                "value": D("10"),
                "starts_at": start,
                "ends_at": start + timedelta(days=45),
            },
            {},
        ),
        (
            {
                "name": "Spend 100, save 10",
                "kind": PromotionKind.SPEND_THRESHOLD,
                "discount_type": DiscountType.AMOUNT,
                "value": D("10"),
                "min_spend": D("100"),
                "currency": "USD",
            },
            {},
        ),
        (
            {
                "name": "Free shipping over 50",
                "kind": PromotionKind.FREE_SHIPPING,
                "min_spend": D("50"),
                "currency": "USD",
            },
            {},
        ),
    ]
    if categories and web is not None:
        specs.append(
            (
                {
                    "name": f"Web only: 20% off {categories[0].name}",
                    "value": D("20"),
                    "priority": 10,
                    "exclusive": True,
                },
                {"categories": [categories[0]], "channels": [web]},
            )
        )
    if len(categories) > 1:
        specs.append(
            (
                {
                    "name": f"Buy 2 get 1 free: {categories[1].name}",
                    "kind": PromotionKind.BUY_X_GET_Y,
                    "value": D("100"),
                    "buy_quantity": 2,
                    "get_quantity": 1,
                },
                {"categories": [categories[1]]},
            )
        )
    specs += [
        (
            {
                "name": "Gold and platinum members: extra 5%",
                "value": D("5"),
                "priority": -5,
                "customer_tiers": ["gold", "platinum"],
            },
            {},
        ),
        (
            {
                "name": "We miss you: 15% off (at-risk and hibernating customers)",
                "value": D("15"),
                # Runs first so it replaces (not adds to) the sitewide sale for these shoppers.
                "priority": 20,
                "exclusive": True,
                "customer_segments": ["at_risk", "hibernating"],
            },
            {},
        ),
        (
            {
                "name": "Voucher: welcome 15%",
                "trigger": Trigger.VOUCHER,
                "value": D("15"),
                "priority": -10,
            },
            {},
        ),
        (
            {
                "name": "Voucher: 5 off 30",
                "trigger": Trigger.VOUCHER,
                "kind": PromotionKind.SPEND_THRESHOLD,
                "discount_type": DiscountType.AMOUNT,
                "value": D("5"),
                "min_spend": D("30"),
                "currency": "USD",
            },
            {},
        ),
    ]
    promotions: dict[str, Promotion] = {}
    for fields, relations in specs:
        promotion = Promotion.objects.filter(name=fields["name"]).first()
        if promotion is None:
            promotion = promotion_save(fields=fields, **relations)
            out.write(f"  promotion {promotion.name}: created")
        else:
            out.write(f"  promotion {promotion.name}: exists")
        promotions[promotion.name] = promotion

    welcome = promotions["Voucher: welcome 15%"]
    five = promotions["Voucher: 5 off 30"]
    for code, promotion, limits in (
        ("WELCOME15", welcome, {"per_customer_limit": 1}),
        ("SAVE5", five, {"usage_limit": 500}),
        ("VIP5", five, {"usage_limit": 10, "per_customer_limit": 1}),
    ):
        if not Voucher.objects.filter(code=code).exists():
            voucher_create(promotion=promotion, code=code, **limits)
            out.write(f"  voucher {code}: created")
    if not Voucher.objects.filter(batch="SPRING").exists():
        batch = voucher_batch_create(
            promotion=five, prefix="SPRING", count=20, valid_until=start + timedelta(days=60)
        )
        out.write(f"  voucher batch SPRING: {len(batch)} single-use codes, e.g. {batch[0].code}")
