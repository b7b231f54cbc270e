"""The admin dashboard: analysts only, charts with locally served plotly, CSV exports."""

import csv
import io

import pytest

URL = "/admin/analytics/dashboard/"


@pytest.fixture
def analyst(db, django_user_model):
    from django.contrib.auth.models import Permission

    user = django_user_model.objects.create_user("analyst", password="x", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_kpis"))
    return user


def test_dashboard_renders_tiles_and_offline_charts(sample, client, analyst):
    client.force_login(analyst)
    response = client.get(URL, {"start": "2026-03-01", "end": "2026-03-07"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Net sales" in html and "430.00" in html and "+330.0 %" in html
    assert "plotly-graph-div" in html
    assert "cdn" not in html.lower()
    assert "/admin/analytics/dashboard/plotly.min.js" in html
    js = client.get(URL + "plotly.min.js")
    assert js.status_code == 200
    assert b"plotly" in b"".join(js.streaming_content)[:2000].lower()


def test_dashboard_refuses_staff_without_permission(db, client, staff_user):
    client.force_login(staff_user)
    assert client.get(URL).status_code == 403
    assert client.get(URL + "export/kpis.csv").status_code == 403


def test_csv_export_of_channels(sample, client, analyst):
    client.force_login(analyst)
    response = client.get(URL + "export/channels.csv", {"start": "2026-03-01", "end": "2026-03-07"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0][:3] == ["channel", "net_sales", "orders"]
    assert rows[1][:3] == ["store", "245.00", "3"]
    assert rows[2][:3] == ["web", "185.00", "3"]


@pytest.mark.parametrize(
    "table",
    [
        "kpis",
        "channels",
        "sales",
        "top-products",
        "low-stock",
        "replenishment",
        "cohorts",
        "channel-flow",
    ],
)
def test_every_table_exports(table, sample, client, analyst):
    client.force_login(analyst)
    response = client.get(URL + f"export/{table}.csv", {"start": "2026-02-01", "end": "2026-03-07"})
    assert response.status_code == 200
    assert len(list(csv.reader(io.StringIO(response.content.decode())))) >= 1


def test_unknown_export_is_404(db, client, analyst):
    client.force_login(analyst)
    assert client.get(URL + "export/nothing.csv").status_code == 404
