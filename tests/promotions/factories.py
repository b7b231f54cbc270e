"""Factories for promotions and voucher codes."""

from decimal import Decimal

import factory

from promotions.models import DiscountType, Promotion, PromotionKind, Trigger, Voucher


class PromotionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Promotion
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Promotion {n}")
    kind = PromotionKind.CATALOGUE
    discount_type = DiscountType.PERCENT
    value = Decimal("10")
    trigger = Trigger.AUTOMATIC

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        if create and extracted:
            self.channels.set(extracted)

    @factory.post_generation
    def categories(self, create, extracted, **kwargs):
        if create and extracted:
            self.categories.set(extracted)

    @factory.post_generation
    def products(self, create, extracted, **kwargs):
        if create and extracted:
            self.products.set(extracted)

    @factory.post_generation
    def variants(self, create, extracted, **kwargs):
        if create and extracted:
            self.variants.set(extracted)


class VoucherFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Voucher

    promotion = factory.SubFactory(PromotionFactory, trigger=Trigger.VOUCHER)
    code = factory.Sequence(lambda n: f"CODE{n:04d}")
