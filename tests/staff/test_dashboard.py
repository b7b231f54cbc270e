"""The admin home page: panels for the user's work, scoped to their store, with links."""

import pytest
from django.urls import reverse

from omni import dashboard
from omni.dashboard import Panel, bar_chart
from tests.staff.conftest import login


def _panels(response) -> str:
    html = response.content.decode()
    assert 'id="omni-dashboard"' in html
    return html


@pytest.mark.django_db
def test_dashboard_shows_low_stock_and_a_chart_for_the_admin(admin_user, stocked):
    stock = stocked[("TEE-S", "store-b")]
    stock.reorder_point = 5  # available 5 <= 5: low
    stock.save(update_fields=["reorder_point"])
    response = login(admin_user).get(reverse("admin:index"))
    html = _panels(response)
    assert 'data-panel="low_stock"' in html
    assert "TEE-S @ store-b" in html
    assert reverse("admin:inventory_stock_change", args=[stock.pk]) in html
    assert 'class="omni-chart"' in html
    assert "store-a" in html and "store-b" in html


@pytest.mark.django_db
def test_store_staff_dashboard_shows_only_their_store(store_user, stocked):
    for key in (("TEE-S", "store-a"), ("TEE-S", "store-b")):
        stock = stocked[key]
        stock.reorder_point = 6
        stock.save(update_fields=["reorder_point"])
    html = _panels(login(store_user).get(reverse("admin:index")))
    assert "TEE-S @ store-a" in html
    assert "store-b" not in html


@pytest.mark.django_db
def test_panels_need_their_permission(make_role_user, stocked):
    from omni import roles

    user = make_role_user(roles.MERCHANDISER)
    user.groups.clear()  # staff without any permission
    response = login(user).get(reverse("admin:index"))
    assert response.status_code == 200
    assert 'data-panel="low_stock"' not in response.content.decode()


@pytest.mark.django_db
def test_a_registered_panel_is_rendered_with_its_link(admin_user):
    dashboard.register_panel(
        "test_panel",
        lambda request: Panel(key="test_panel", title="Test things", url="/admin/x/", total=3),
        order=1,
    )
    try:
        html = login(admin_user).get(reverse("admin:index")).content.decode()
    finally:
        dashboard._providers.pop("test_panel")
    assert 'data-panel="test_panel"' in html
    assert 'href="/admin/x/"' in html


def test_bar_chart_scales_bars_and_escapes_labels():
    svg = str(bar_chart([("<b>", 10), ("b", 5)], title="t", width=420))
    assert "&lt;b&gt;" in svg
    assert "<b>" not in svg
    assert svg.count("<rect") == 2
    assert 'width="210"' in svg and 'width="105"' in svg
    assert str(bar_chart([], title="t")) == ""


@pytest.mark.django_db
def test_panel_scripts_are_loaded_once(admin_user):
    for key in ("chart_a", "chart_b"):
        dashboard.register_panel(
            key,
            lambda request, key=key: Panel(key=key, title=key, scripts=["/static/chart.js"]),
            order=2,
        )
    try:
        html = login(admin_user).get(reverse("admin:index")).content.decode()
    finally:
        dashboard._providers.pop("chart_a")
        dashboard._providers.pop("chart_b")
    assert html.count('<script src="/static/chart.js"></script>') == 1


@pytest.mark.django_db
def test_failed_syncs_and_dead_letters_panels_link_into_the_admin(
    admin_user, make_role_user, channel
):
    from django.utils import timezone

    from omni import roles
    from omni.sync.models import OutboundMessage, SyncRun

    run = SyncRun.objects.create(
        channel=channel, kind="orders", direction="pull", status="failed", error="HTTP 500"
    )
    SyncRun.objects.create(channel=channel, kind="orders", direction="pull", status="succeeded")
    OutboundMessage.objects.create(
        channel=channel,
        kind="availability",
        payload={},
        status="dead",
        next_attempt_at=timezone.now(),
    )
    html = login(admin_user).get(reverse("admin:index")).content.decode()
    assert 'data-panel="failed_syncs"' in html
    assert reverse("admin:sync_syncrun_change", args=[run.pk]) in html
    assert "HTTP 500" in html
    assert 'data-panel="dead_letters"' in html
    assert "status__exact=dead" in html
    store = make_role_user(roles.STORE_STAFF)
    store_html = login(store).get(reverse("admin:index")).content.decode()
    assert 'data-panel="failed_syncs"' not in store_html
    assert 'data-panel="dead_letters"' not in store_html


@pytest.mark.django_db
def test_sales_trend_chart_uses_the_local_plotly(admin_user, make_role_user):
    from omni import roles

    html = login(admin_user).get(reverse("admin:index")).content.decode()
    assert 'data-panel="sales_trend"' in html
    assert "plotly-graph-div" in html
    assert f'<script src="{reverse("admin:analytics_plotly_js")}"></script>' in html
    store_html = login(make_role_user(roles.STORE_STAFF)).get(reverse("admin:index"))
    assert "plotly" not in store_html.content.decode()
