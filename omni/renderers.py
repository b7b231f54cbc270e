"""The browsable API as staff see it in a browser."""

from rest_framework import renderers


class BrowsableAPIRenderer(renderers.BrowsableAPIRenderer):
    """DRF's browsable API, without a filter form on views that have no filter backends
    (DRF builds that form from `get_queryset()`, which views that read through selectors
    and write their own pages, like the storefront product list, do not have)."""

    def get_filter_form(self, data, view, request):
        if not getattr(view, "filter_backends", None):
            return None
        return super().get_filter_form(data, view, request)
