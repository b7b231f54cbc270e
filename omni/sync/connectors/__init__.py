"""Connector kinds. Importing this package registers every shipped kind."""

from omni.sync.connectors import file_feed, webhook  # noqa: F401  (registration side effect)
from omni.sync.connectors.base import Connector, connector_for, connector_kinds, register

__all__ = ["Connector", "connector_for", "connector_kinds", "register"]
