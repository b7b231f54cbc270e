from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _fill_channel_products(sender, apps=None, **kwargs):
    """After `migrate`: fill the stored storefront JSON a migration left empty, once the
    schema is the one the code writes (not after a migrate back to an older state)."""
    from catalog.models import ChannelProduct
    from catalog.services import channel_products_fill_unfilled

    if apps is None:  # sent by flush, which leaves the tables empty: nothing to fill
        return
    try:
        migrated = apps.get_model("catalog", "ChannelProduct")
    except LookupError:  # migrated to a state before the table
        return
    if {f.column for f in migrated._meta.concrete_fields} != {
        f.column for f in ChannelProduct._meta.concrete_fields
    }:
        return
    channel_products_fill_unfilled()


class CatalogConfig(AppConfig):
    name = "catalog"

    def ready(self):
        post_migrate.connect(_fill_channel_products, sender=self)
