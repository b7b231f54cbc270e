"""`manage.py inventory_reconcile`: prove every stock row agrees with its ledger.

Checks, per stock row: `on_hand` equals the sum of its movements, `reserved` equals the sum of
its open reservations, and `incoming` equals what open transfers still carry to it. Prints each
drift and exits non-zero when there is any.
"""

from django.core.management.base import BaseCommand, CommandError

from inventory.models import Stock
from inventory.selectors import incoming_drift, ledger_drift


class Command(BaseCommand):
    help = "Check on_hand against the movement ledger (and reserved, incoming); exit 1 on drift."

    def handle(self, *args, **options):
        rows = Stock.objects.count()
        drifts = ledger_drift()
        transit = incoming_drift()
        for d in drifts:
            if d.on_hand != d.ledger:
                self.stdout.write(
                    f"DRIFT on_hand {d.sku}@{d.location_code} (stock {d.stock_id}): "
                    f"on_hand {d.on_hand}, ledger {d.ledger}, drift {d.on_hand - d.ledger:+d}"
                )
            if d.reserved != d.reservations:
                self.stdout.write(
                    f"DRIFT reserved {d.sku}@{d.location_code} (stock {d.stock_id}): "
                    f"reserved {d.reserved}, reservations {d.reservations}"
                )
        for stock_id, sku, code, incoming, in_transit in transit:
            self.stdout.write(
                f"DRIFT incoming {sku}@{code} (stock {stock_id}): "
                f"incoming {incoming}, open transfers {in_transit}"
            )
        problems = len({d.stock_id for d in drifts} | {row[0] for row in transit})
        if problems:
            raise CommandError(f"{problems} of {rows} stock rows drift from the ledger.")
        self.stdout.write(self.style.SUCCESS(f"{rows} stock rows reconcile: zero drift."))
