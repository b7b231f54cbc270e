"""PostgreSQL-only indexes for the storefront filters: trigram GIN indexes serve the
case-insensitive substring search (Django renders icontains as UPPER(col::text) LIKE
UPPER(%s), so the indexes are on that expression), and a jsonb_path_ops GIN index serves
attribute containment (@>). SQLite gets none of them and still answers the same queries."""

from django.db import migrations

INDEXES = [
    ("catalog_product_name_trgm", "catalog_product", "(UPPER(name::text)) gin_trgm_ops"),
    ("catalog_product_desc_trgm", "catalog_product", "(UPPER(description::text)) gin_trgm_ops"),
    ("catalog_variant_sku_trgm", "catalog_variant", "(UPPER(sku::text)) gin_trgm_ops"),
    ("catalog_product_attrs_gin", "catalog_product", "attributes jsonb_path_ops"),
]


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in INDEXES:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({expression})"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _expression in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("catalog", "0002_listing_product_indexes")]

    operations = [migrations.RunPython(create, drop)]
