"""Price feeds through the catalog's bulk upsert, and combined stock-and-price feeds."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from catalog.models import Listing
from inventory.models import Stock
from omni.sync.models import SyncRejection
from omni.sync.services.feeds import feed_pull
from tests.catalog.factories import ListingFactory

pytestmark = pytest.mark.django_db


def write(tmp_path, text):
    path = tmp_path / "feed.csv"
    path.write_text(text)
    return str(path)


def test_price_feed_sets_prices_rejects_bad_rows_and_a_rerun_changes_nothing(
    tmp_path, market, connector, skus
):
    ListingFactory(variant=skus["A-1"], channel=market, price=Decimal("5.00"))
    path = write(
        tmp_path,
        "sku,price,compare_at_price,currency\n"
        "A-1,7.50,,USD\n"
        "B-2,3.00,4.00,\n"
        "C-3,2.001,,\n"
        "NOPE,1.00,,\n"
        "A-1,-1,,\n"
        "B-2,9.00,,EUR\n"
        "C-3,5.00,4.00,\n",
    )

    run = feed_pull(channel=market, kinds=["prices"], source=path)
    again = feed_pull(channel=market, kinds=["prices"], source=path)

    assert (run.rows_applied, run.rows_rejected) == (2, 5)
    codes = dict(SyncRejection.objects.filter(run=run).values_list("line", "code"))
    assert codes == {
        4: "price_precision",
        5: "unknown_sku",
        6: "negative_price",
        7: "currency_mismatch",
        8: "compare_at_below_price",
    }
    prices = dict(Listing.objects.filter(channel=market).values_list("variant__sku", "price"))
    assert prices == {"A-1": Decimal("7.50"), "B-2": Decimal("3.00")}
    assert (again.rows_applied, again.rows_unchanged, again.rows_rejected) == (0, 2, 5)


def test_combined_feed_applies_a_row_to_stock_and_price_or_to_neither(
    tmp_path, market, connector, warehouse, skus
):
    as_of = (timezone.now() - timedelta(minutes=5)).isoformat()
    path = write(
        tmp_path,
        "sku,quantity,price,as_of\n"
        f"A-1,4,9.99,{as_of}\n"
        f"B-2,-2,8.00,{as_of}\n"  # bad count: its good price is not applied either
        f"C-3,3,abc,{as_of}\n",  # bad price: its good count is not applied either
    )

    run = feed_pull(channel=market, kinds=["stock", "prices"], source=path)

    assert (run.kind, run.rows_applied, run.rows_rejected) == ("stock+prices", 1, 2)
    assert list(Stock.objects.values_list("variant__sku", "on_hand")) == [("A-1", 4)]
    assert list(Listing.objects.values_list("variant__sku", "price")) == [("A-1", Decimal("9.99"))]
