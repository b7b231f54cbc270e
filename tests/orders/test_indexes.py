"""The indexes the order tables keep: every insert of a checkout pays for each one, so a
single-column index that a composite one already leads with, or one no query reads, is left
out; foreign keys that are mostly NULL index only the rows that have a value."""

import pytest
from django.db import connection

from orders.models import IdempotencyKey, Order, OrderLine, TimelineEvent
from tests.schema import index_columns, indexes

pytestmark = pytest.mark.django_db


def _partial(model, name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname = %s",
            [model._meta.db_table, name],
        )
        (definition,) = cursor.fetchone()
    return "WHERE" in definition and "IS NOT NULL" in definition


def test_order_channel_is_indexed_only_through_the_composite_indexes():
    columns = index_columns(Order)
    assert ["channel_id"] not in columns
    assert ["channel_id", "external_id"] in columns
    assert ["channel_id", "status", "created_at"] in columns


def test_order_status_has_one_plain_index():
    status = [info for info in indexes(Order).values() if info["columns"] == ["status"]]
    assert len(status) == 1


def test_mostly_null_foreign_keys_index_only_their_values():
    if connection.vendor != "postgresql":
        pytest.skip("partial index definitions read from pg_indexes")
    for model, name, column in [
        (Order, "order_pickup_location", "pickup_location_id"),
        (Order, "order_exchange_for", "exchange_for_id"),
        (Order, "order_placed_by", "placed_by_id"),
        (OrderLine, "order_line_pickup_location", "pickup_location_id"),
        (TimelineEvent, "timeline_event_user", "user_id"),
    ]:
        assert indexes(model)[name]["columns"] == [column]
        assert _partial(model, name), name
        assert sum(info["columns"] == [column] for info in indexes(model).values()) == 1


def test_idempotency_key_channel_is_indexed_through_the_unique_key():
    columns = index_columns(IdempotencyKey)
    assert ["channel_id"] not in columns
    assert ["created_at"] not in columns
    assert ["channel_id", "key"] in columns
    assert ["order_id"] in columns


def test_order_lines_and_timeline_keep_their_order_index():
    assert ["order_id"] in index_columns(OrderLine)
    assert ["order_id"] in index_columns(TimelineEvent)
    assert ["created_at"] not in index_columns(TimelineEvent)
