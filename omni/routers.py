"""The API router: integer primary keys in URLs match digits only, so `/things/abc/` is a JSON
404 from URL resolution instead of a lookup that the database refuses."""

from rest_framework.routers import SimpleRouter


class Router(SimpleRouter):
    def get_lookup_regex(self, viewset, lookup_prefix: str = "") -> str:
        lookup_field = getattr(viewset, "lookup_field", "pk")
        if lookup_field == "pk" and getattr(viewset, "lookup_value_regex", None) is None:
            name = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
            return f"(?P<{lookup_prefix}{name}>[0-9]+)"
        return super().get_lookup_regex(viewset, lookup_prefix)
