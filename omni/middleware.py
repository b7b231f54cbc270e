"""API request guard: NUL characters in the path, query string or headers are refused with a
JSON 400 before any view can hand them to PostgreSQL (which rejects them in text), and any
404 under /api/ that Django itself answers (no matching route) is JSON like the API's own."""

from django.http import JsonResponse

API_PREFIX = "/api/"
NUL = "\x00"


def _nul_error(field: str) -> JsonResponse:
    message = "Null characters are not allowed."
    return JsonResponse(
        {
            "code": "invalid",
            "detail": "Invalid input.",
            "errors": [{"field": field, "code": "null_characters_not_allowed", "message": message}],
        },
        status=400,
    )


def _nul_field(request) -> str | None:
    """The first path, query parameter or header that carries a NUL, by its name."""
    if NUL in request.path:
        return "path"
    for key, values in request.GET.lists():
        if NUL in key or any(NUL in value for value in values):
            return key.replace(NUL, "")
    for key, value in request.META.items():
        if key.startswith("HTTP_") and isinstance(value, str) and NUL in value:
            return key[5:].replace("_", "-").title()
    return None


class ApiRequestGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        field = _nul_field(request)
        if field is not None:
            return _nul_error(field)
        response = self.get_response(request)
        if response.status_code == 404 and not response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return JsonResponse(
                {"code": "not_found", "detail": f"No API endpoint or object at {request.path}."},
                status=404,
            )
        return response
