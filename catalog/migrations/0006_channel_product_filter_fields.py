"""`ChannelProduct` keeps copies of the product fields the storefront filters and orders by
(name, brand, category path, attributes, created_at), indexed after the channel, so a list
page and its count read this table's indexes instead of joining the products. On PostgreSQL
also: the category path under the "C" collation (a subtree is then a range of it, whatever
the database's collation) with the columns a page reads, and a jsonb_path_ops GIN index for
attribute containment (@>). SQLite compares text bytewise already and has no GIN."""

import django.utils.timezone
from django.db import migrations, models
from django.db.models import OuterRef, Subquery

PG_INDEXES = [
    (
        "channelproduct_category_idx",
        "btree (channel_id, category_path COLLATE \"C\") "
        "INCLUDE (product_id, name, price_from, created_at)",
    ),
    ("channelproduct_attrs_gin", "gin (attributes jsonb_path_ops)"),
]


def copy_product_fields(apps, schema_editor):
    ChannelProduct = apps.get_model("catalog", "ChannelProduct")
    Product = apps.get_model("catalog", "Product")
    product = Product.objects.filter(pk=OuterRef("product_id"))
    ChannelProduct.objects.update(
        **{
            field: Subquery(product.values(source)[:1])
            for field, source in [
                ("name", "name"),
                ("brand", "brand"),
                ("attributes", "attributes"),
                ("created_at", "created_at"),
            ]
        }
    )
    ChannelProduct.objects.filter(product__category__isnull=False).update(
        category_path=Subquery(product.values("category__path")[:1])
    )


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in PG_INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON catalog_channelproduct USING {definition}"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _definition in PG_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [
        ("catalog", "0005_channel_product_json"),
    ]

    operations = [
        migrations.AddField(
            model_name="channelproduct",
            name="attributes",
            field=models.JSONField(default=dict, editable=False),
        ),
        migrations.AddField(
            model_name="channelproduct",
            name="brand",
            field=models.CharField(default="", editable=False, max_length=120),
        ),
        migrations.AddField(
            model_name="channelproduct",
            name="category_path",
            field=models.CharField(default="", editable=False, max_length=1000),
        ),
        migrations.AddField(
            model_name="channelproduct",
            name="created_at",
            field=models.DateTimeField(default=django.utils.timezone.now, editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="channelproduct",
            name="name",
            field=models.CharField(default="", editable=False, max_length=200),
        ),
        migrations.AddIndex(
            model_name="channelproduct",
            index=models.Index(
                fields=["channel", "name", "product"], name="channelproduct_name_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="channelproduct",
            index=models.Index(
                fields=["channel", "created_at", "product"], name="channelproduct_created_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="channelproduct",
            index=models.Index(
                fields=["channel", "brand", "name", "product"],
                include=["price_from"],
                name="channelproduct_brand_idx",
            ),
        ),
        migrations.RunPython(create_indexes, drop_indexes),
        # Last: PostgreSQL refuses DDL on a table with pending (deferred) trigger events.
        migrations.RunPython(copy_product_fields, migrations.RunPython.noop),
    ]
