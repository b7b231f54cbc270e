from django.apps import AppConfig


class OmniConfig(AppConfig):
    name = "omni"
    verbose_name = "Channels and API"
