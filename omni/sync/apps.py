"""Channel sync: the connector framework that pulls and pushes channel feeds."""

from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "omni.sync"
    label = "sync"
    verbose_name = "Channel sync"

    def ready(self) -> None:
        from inventory.events import register_availability_listener
        from omni.sync import connectors  # noqa: F401  (registers the shipped connector kinds)
        from omni.sync.services.availability import availability_listener

        # Inventory publishes drained available-to-sell changes through its event port; the
        # coalesced delta push listens there (inventory knows nothing of channel sync).
        register_availability_listener(availability_listener)
