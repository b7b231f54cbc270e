"""Low-stock alerts: stock rows whose available plus incoming fell to their reorder point."""

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import LowStockAlert
from inventory.selectors import low_stock_rows


def low_stock_scan() -> dict[str, int]:
    """Open an alert for each stock row now at or below its reorder point, refresh the figures
    of alerts still open, and resolve alerts whose row recovered. Running it again changes
    nothing (one open alert per row, a partial unique index). Returns the counts."""
    with transaction.atomic(durable=True):
        below = {
            pk: (available, incoming, reorder_point)
            for pk, available, incoming, reorder_point in low_stock_rows()
            .annotate(available_now=F("on_hand") - F("reserved"))
            .values_list("pk", "available_now", "incoming", "reorder_point")
        }
        open_alerts = {
            a.stock_id: a for a in LowStockAlert.objects.filter(resolved_at__isnull=True)
        }
        recovered = [a.pk for stock_id, a in open_alerts.items() if stock_id not in below]
        resolved = LowStockAlert.objects.filter(pk__in=recovered).update(resolved_at=timezone.now())
        created = LowStockAlert.objects.bulk_create(
            [
                LowStockAlert(stock_id=pk, available=a, incoming=i, reorder_point=r)
                for pk, (a, i, r) in below.items()
                if pk not in open_alerts
            ],
            ignore_conflicts=True,
        )
        refreshed = []
        for stock_id, alert in open_alerts.items():
            if stock_id in below:
                alert.available, alert.incoming, alert.reorder_point = below[stock_id]
                refreshed.append(alert)
        LowStockAlert.objects.bulk_update(
            refreshed, ["available", "incoming", "reorder_point"], batch_size=1000
        )
        return {"open": len(below), "created": len(created), "resolved": resolved}
