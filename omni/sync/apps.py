from django.apps import AppConfig


class SyncConfig(AppConfig):
    name = "omni.sync"
    label = "sync"
    verbose_name = "Channel sync"
