"""The demo promotions load over the demo catalogue and load again without duplicates."""

import io
from decimal import Decimal

from django.core.management.base import BaseCommand

from promotions import demo
from promotions.models import Promotion, Voucher
from promotions.pricing import QuoteLineInput, quote


def test_demo_is_idempotent_and_prices(shop):
    command = BaseCommand(stdout=io.StringIO())
    demo.load(command)
    counts = (Promotion.objects.count(), Voucher.objects.count())
    demo.load(command)
    assert (Promotion.objects.count(), Voucher.objects.count()) == counts == (9, 23)
    web_only = Promotion.objects.get(name__startswith="Web only")
    assert list(web_only.channels.all()) == [shop.web]
    q = quote(
        channel=shop.store,
        lines=[QuoteLineInput(shop.variants["TEE"].pk, 2)],
        voucher_code="SAVE5",
    )
    assert q.total == Decimal("31.00")  # 40.00 - 10 % - 5.00
