"""catalog_listing keeps no single-column index on its variant or its channel (migration
0008): each is the leading column of an index kept for other lookups, which serves lookups
and cascades by it alone."""

import pytest
from django.db import connection

from catalog.models import Listing
from tests.catalog.factories import ListingFactory
from tests.schema import index_columns

pytestmark = pytest.mark.django_db


def test_variant_and_channel_are_led_by_kept_indexes_not_indexed_alone():
    columns = index_columns(Listing)
    assert ["variant_id"] not in columns and ["channel_id"] not in columns
    assert columns == [
        ["channel_id", "published", "price"],
        ["channel_id", "published", "variant_id"],
        ["variant_id", "channel_id"],
    ]


@pytest.mark.postgres  # PostgreSQL plans
@pytest.mark.parametrize("lookup", ["variant_id", "channel_id"])
def test_lookups_by_variant_or_channel_alone_use_an_index(lookup):
    listing = ListingFactory()
    queryset = Listing.objects.filter(**{lookup: getattr(listing, lookup)})
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny table is read whole else
        sql, params = queryset.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # An index led by the column: its first column matched, nothing read whole.
    assert f"Index Cond: ({lookup} = " in plan and "Seq Scan" not in plan, plan
