"""Project-level Celery tasks."""

from celery import shared_task


@shared_task(name="omni.ping", ignore_result=False)
def ping_task(value: str) -> str:
    """Echo `value` back: proves a round trip through the broker to a worker and back."""
    return f"pong:{value}"
