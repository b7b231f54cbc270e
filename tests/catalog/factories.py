"""Factories for the catalog: categories, products, variants and listings."""

from decimal import Decimal

import factory

from catalog.models import Category, Listing, Product, Variant
from catalog.services import channel_products_refresh
from tests.omni.factories import ChannelFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    name = factory.Sequence(lambda n: f"Category {n}")
    slug = factory.Sequence(lambda n: f"category-{n}")
    parent = None
    path = factory.LazyAttribute(lambda o: f"{o.parent.path if o.parent else ''}{o.slug}/")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    name = factory.Sequence(lambda n: f"Product {n}")
    slug = factory.Sequence(lambda n: f"product-{n}")
    brand = "Acme"
    category = factory.SubFactory(CategoryFactory)


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    name = factory.LazyAttribute(lambda o: o.sku)


class ListingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Listing

    variant = factory.SubFactory(VariantFactory)
    channel = factory.SubFactory(ChannelFactory)
    published = True
    price = Decimal("10.00")
    currency = factory.LazyAttribute(lambda o: o.channel.currency)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        # Listings written outside the services must refresh the storefront's derived rows,
        # as the services do, or the product would not show in the channel.
        listing = super()._create(model_class, *args, **kwargs)
        channel_products_refresh(product_ids=[listing.variant.product_id])
        return listing
