"""`ChannelProduct.search_text`: the product's name, description and offered SKUs, which the
storefront's free-text search matches on this table alone (no join with the products, no
separate SKU lookup). On PostgreSQL a trigram GIN index on UPPER(search_text) serves it
(Django renders icontains as UPPER(col::text) LIKE UPPER(%s)). Existing rows are marked
unfilled (json_head '') so that the post_migrate refresh (`CatalogConfig`) writes them."""

from django.db import migrations, models

INDEX = "channelproduct_search_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON catalog_channelproduct "
        "USING gin ((UPPER(search_text::text)) gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


def mark_unfilled(apps, schema_editor):
    apps.get_model("catalog", "ChannelProduct").objects.update(json_head="")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0006_channel_product_filter_fields")]

    operations = [
        migrations.AddField(
            model_name="channelproduct",
            name="search_text",
            field=models.TextField(default="", editable=False),
        ),
        migrations.RunPython(create_index, drop_index),
        # Last: PostgreSQL refuses DDL on a table with pending (deferred) trigger events.
        migrations.RunPython(mark_unfilled, migrations.RunPython.noop),
    ]
