"""The port through which customers shows a profile's orders without depending on orders.

Orders depend on customers, so customers cannot import orders. The orders app registers an
`OrderHistoryProvider` from its `AppConfig.ready()`; until one is registered every profile shows
no orders. The storefront lookup, the admin's customer page and the privacy export read it.
"""

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Protocol


@dataclass(frozen=True)
class OrderSummary:
    """One order as the customer pages show it."""

    number: str
    channel: str  # channel code
    status: str
    placed_at: datetime
    total: Decimal
    currency: str
    items: int = 0
    returns: list[dict[str, Any]] = field(default_factory=list)
    admin_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["placed_at"] = self.placed_at.isoformat()
        data["total"] = str(self.total)
        data.pop("admin_url")
        return data


class OrderHistoryProvider(Protocol):
    def orders_for(self, *, customer_id: int, limit: int = 50) -> list[OrderSummary]:
        """The customer's orders from every channel, newest first. A fixed number of queries."""

    def export_for(self, *, customer_id: int) -> list[dict[str, Any]]:
        """Everything the orders app holds about the customer, JSON-safe, for a privacy export."""

    def anonymise_for(self, *, customer_id: int) -> int:
        """Erasure: blank the personal fields the orders app copied (names, addresses, phones on
        orders), keeping the order facts. Runs inside the erasure's transaction; returns rows."""


class NoOrders:
    def orders_for(self, *, customer_id: int, limit: int = 50) -> list[OrderSummary]:
        return []

    def export_for(self, *, customer_id: int) -> list[dict[str, Any]]:
        return []

    def anonymise_for(self, *, customer_id: int) -> int:
        return 0


_provider: OrderHistoryProvider = NoOrders()


def register_order_history_provider(provider: OrderHistoryProvider) -> None:
    global _provider
    _provider = provider


def order_history_provider() -> OrderHistoryProvider:
    return _provider
