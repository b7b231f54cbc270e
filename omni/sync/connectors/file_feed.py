"""File feed connector: CSV or JSON lines read from a local path or an http(s) URL."""

from omni.sync.connectors.base import Connector, register


@register
class FileFeedConnector(Connector):
    """Pulls orders, stock counts and prices from files the channel drops or serves. It pushes
    nothing: a channel that wants pushes uses the webhook kind."""

    kind = "file_feed"
    label = "File feed (CSV / JSON lines)"
    pulls = frozenset({"orders", "stock", "prices"})
    pushes = frozenset()
