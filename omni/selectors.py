"""Read queries over channels."""

from omni.models import Channel


def channel_get_by_code(code: str) -> Channel | None:
    return Channel.objects.filter(code=code).first()
