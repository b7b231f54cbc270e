"""Omni project package: settings, URLs, the Celery app, channels and API authentication."""

from omni.celery import app as celery_app

__all__ = ("celery_app",)
