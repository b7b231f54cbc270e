"""What stock, reservation and ledger rows write beyond the row itself: checkouts write all three
while the stock rows are locked, so each index and CHECK is one that something needs."""

import pytest
from django.db import IntegrityError, connection, transaction

from inventory.models import Reservation, Stock, StockMovement
from tests.schema import index_columns

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]


def _definitions(sql: str, table: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [table])
        return sorted(row[0] for row in cursor.fetchall())


def test_the_ledger_reference_has_one_plain_index_for_the_exact_filter():
    definitions = _definitions(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s", StockMovement._meta.db_table
    )
    on_reference = [d for d in definitions if "(reference" in d]
    assert on_reference == [
        "CREATE INDEX movement_reference ON public.inventory_stockmovement USING btree (reference)"
    ]
    assert not [d for d in definitions if "pattern_ops" in d]


def test_a_reservation_quantity_is_checked_once_and_must_be_positive(variant, store, receive):
    checks = _definitions(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass AND contype = 'c'",
        Reservation._meta.db_table,
    )
    assert checks == ["CHECK ((quantity > 0))"]
    receive(variant, store, 5)
    stock = Stock.objects.get(variant=variant, location=store)
    for quantity in (0, -1):
        with pytest.raises(IntegrityError), transaction.atomic():
            Reservation.objects.create(stock=stock, quantity=quantity, reference="R")


def test_a_stock_row_keeps_no_index_its_unique_key_already_serves():
    # Lookups by variant use the unique (variant, location) index, which leads with it.
    assert index_columns(Stock) == [["location_id"], ["variant_id", "location_id"]]
