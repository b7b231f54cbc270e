"""Catalog API routes, mounted under /api/v1/: the storefront products of the caller's channel
and staff management under catalog/."""

from django.urls import path

from catalog.api import (
    BulkListingUpsertView,
    CategoryViewSet,
    ListingViewSet,
    ProductViewSet,
    StorefrontProductDetailView,
    StorefrontProductListView,
    VariantViewSet,
)
from omni.routers import Router

router = Router()
router.register("catalog/categories", CategoryViewSet, basename="catalog-category")
router.register("catalog/products", ProductViewSet, basename="catalog-product")
router.register("catalog/variants", VariantViewSet, basename="catalog-variant")
router.register("catalog/listings", ListingViewSet, basename="catalog-listing")

urlpatterns = [
    path("products/", StorefrontProductListView.as_view(), name="storefront-product-list"),
    path(
        "products/<int:product_id>/",
        StorefrontProductDetailView.as_view(),
        name="storefront-product-detail",
    ),
    path(
        "catalog/listings/bulk-upsert/",
        BulkListingUpsertView.as_view(),
        name="catalog-listing-bulk-upsert",
    ),
    *router.urls,
]
