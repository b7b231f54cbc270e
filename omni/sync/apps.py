"""Channel sync: the connector framework that pulls and pushes channel feeds."""

import importlib.util

from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "omni.sync"
    label = "sync"
    verbose_name = "Channel sync"

    def ready(self) -> None:
        from omni.sync import connectors  # noqa: F401  (registers the shipped connector kinds)

        # Inventory publishes drained available-to-sell changes through its event port; the
        # coalesced delta push listens there (inventory knows nothing of channel sync).
        if importlib.util.find_spec("inventory.events") is not None:
            from inventory.events import register_listener
            from omni.sync.services.availability import availability_changes_record

            register_listener(lambda latest: availability_changes_record(latest=latest))
