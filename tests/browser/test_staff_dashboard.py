"""In a real browser: admin and store staff log in, see the dashboard with its chart, and
store staff cannot open another store's stock."""

import pytest
from django.contrib.auth.models import Group

from inventory.models import StaffLocation
from inventory.services import StockLine, stock_receive
from omni import roles
from tests.catalog.factories import VariantFactory
from tests.inventory.factories import StockLocationFactory

PASSWORD = "browser-pass-123"

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(django_user_model):
    roles.roles_setup()
    store_a = StockLocationFactory(code="store-a", kind="store", pickup_enabled=True)
    store_b = StockLocationFactory(code="store-b", kind="store", pickup_enabled=True)
    stocks = {}
    for sku in ("TEE-S", "TEE-M"):
        variant = VariantFactory(sku=sku)
        for location, units in ((store_a, 6), (store_b, 9)):
            (movement,) = stock_receive(
                location_id=location.pk, lines=[StockLine(variant.pk, units)], reference="PO"
            )
            stocks[(sku, location.code)] = movement.stock
    low = stocks[("TEE-M", "store-a")]
    low.reorder_point = 8
    low.save(update_fields=["reorder_point"])
    django_user_model.objects.create_superuser("boss", "boss@example.com", PASSWORD)
    clerk = django_user_model.objects.create_user(
        "clerk", "clerk@example.com", PASSWORD, is_staff=True
    )
    clerk.groups.add(Group.objects.get(name=roles.STORE_STAFF))
    StaffLocation.objects.create(user=clerk, location=store_a)
    return stocks


def test_admin_sees_the_dashboard_and_its_chart(page, admin_login, screenshot, shop):
    admin_login(page, "boss", PASSWORD)
    page.wait_for_selector("#omni-dashboard")
    chart = page.locator("#panel-stock_by_location svg.omni-chart")
    chart.wait_for(state="visible")
    assert chart.locator("rect").count() == 2
    box = chart.bounding_box()
    assert box is not None and box["width"] > 100 and box["height"] > 20
    assert "TEE-M @ store-a" in page.locator("#panel-low_stock").inner_text()
    # The sales trend is drawn by plotly (served locally) in the browser.
    plotly_chart = page.locator("#panel-sales_trend .plotly-graph-div svg.main-svg").first
    plotly_chart.wait_for(state="visible")
    plotly_box = plotly_chart.bounding_box()
    assert plotly_box is not None and plotly_box["width"] > 100
    screenshot(page, "dashboard")


def test_store_staff_sees_their_store_only(page, admin_login, live_server, screenshot, shop):
    admin_login(page, "clerk", PASSWORD)
    page.wait_for_selector("#omni-dashboard")
    chart = page.locator("#panel-stock_by_location svg.omni-chart")
    chart.wait_for(state="visible")
    assert chart.locator("rect").count() == 1
    assert "store-b" not in chart.inner_html()
    screenshot(page, "dashboard")

    page.goto(f"{live_server.url}/admin/inventory/stock/")
    rows = page.locator("#result_list tbody tr")
    assert rows.count() == 2
    assert "store-b" not in page.locator("#result_list").inner_text()
    screenshot(page, "stock-list")

    other = shop[("TEE-S", "store-b")]
    page.goto(f"{live_server.url}/admin/inventory/stock/{other.pk}/change/")
    # The admin treats it as not found: back to the home page with a warning, no form.
    page.wait_for_url(f"{live_server.url}/admin/")
    assert "exist" in page.locator(".messagelist").inner_text()
    assert page.locator("#stock_form").count() == 0
    screenshot(page, "other-store-refused")


def test_store_staff_completes_a_pickup(page, admin_login, live_server, screenshot, shop):
    from django.core.cache import cache

    from omni.models import Channel
    from orders.models import Order, OrderStatus
    from promotions import rules
    from tests.staff.conftest import place_pickup_orders

    cache.clear()
    rules.forget_local()
    channel = Channel.objects.create(code="web", name="Web shop", kind="web", currency="USD")
    store_a = StaffLocation.objects.get(user__username="clerk").location
    orders = place_pickup_orders(channel, [store_a])
    order = orders["store-a"]

    admin_login(page, "clerk", PASSWORD)
    panel = page.locator("#panel-pickups_waiting")
    assert "Pickups waiting at your store" in panel.inner_text()
    panel.get_by_role("link", name="Open the pickup counter").click()
    page.wait_for_selector("#pickup-queue")
    row = page.locator("#pickup-queue tbody tr", has_text=order.number)
    screenshot(page, "pickup-queue")
    for button in ("Start picking", "Ready for pickup", "Collected"):
        row.get_by_role("button", name=button).click()
        page.wait_for_load_state()
        assert "done." in page.locator(".messagelist").inner_text()
    assert "Nothing waiting for pickup here." in page.locator("#pickup-queue").inner_text()
    screenshot(page, "pickup-collected")
    order = Order.objects.get(pk=order.pk)
    assert order.status == OrderStatus.FULFILLED
    cache.clear()
    rules.forget_local()
