"""The port through which customers shows a profile's suggested products without depending on
analytics.

Analytics depends on customers (and on orders and the catalog), so customers cannot import it.
Analytics registers a `SuggestionProvider` from its `AppConfig.ready()`; until one is
registered every profile has no suggestions. The storefront lookup (limited to the products the
calling channel publishes), the staff API profile and the admin's customer page read it.
"""

from dataclasses import dataclass
from typing import Any, Protocol

from omni.models import Channel


@dataclass(frozen=True)
class ProductSuggestion:
    """A product the customer is likely to buy, best first (`rank` 1)."""

    product_id: int
    name: str
    slug: str
    score: float
    rank: int
    admin_url: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "product_id": self.product_id,
            "name": self.name,
            "slug": self.slug,
            "score": self.score,
            "rank": self.rank,
        }


class SuggestionProvider(Protocol):
    def suggestions_for(
        self, *, customer_id: int, channel: Channel | None = None, limit: int = 10
    ) -> list[ProductSuggestion]:
        """The customer's suggestions, best first; with `channel`, only products with a
        published listing of an active variant there. One query."""


class NoSuggestions:
    def suggestions_for(
        self, *, customer_id: int, channel: Channel | None = None, limit: int = 10
    ) -> list[ProductSuggestion]:
        return []


_provider: SuggestionProvider = NoSuggestions()


def register_suggestion_provider(provider: SuggestionProvider) -> None:
    global _provider
    _provider = provider


def suggestion_provider() -> SuggestionProvider:
    return _provider
