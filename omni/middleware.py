"""API request guard: NUL characters in the path, query string or headers are refused with a
JSON 400 before any view can hand them to PostgreSQL (which rejects them in text), a body
declared larger than DATA_UPLOAD_MAX_MEMORY_SIZE is a 413 before it is read, and the 400s and
404s Django itself answers under /api/ (no matching route, a refused request) are JSON like
the API's own."""

from django.conf import settings
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


def _too_large(request) -> bool:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    length = request.META.get("CONTENT_LENGTH") or ""
    return limit is not None and length.isdigit() and int(length) > limit


DJANGO_ERRORS = {
    400: ("bad_request", "The request was refused."),
    404: ("not_found", "No API endpoint or object at this address."),
}


class ApiRequestGuard:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(API_PREFIX):
            return self.get_response(request)
        field = _nul_field(request)
        if field is not None:
            return _nul_error(field)
        if _too_large(request):
            return JsonResponse(
                {
                    "code": "payload_too_large",
                    "detail": f"The body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes.",
                },
                status=413,
            )
        response = self.get_response(request)
        if response.status_code in DJANGO_ERRORS and not response.get(
            "Content-Type", ""
        ).startswith("application/json"):
            code, detail = DJANGO_ERRORS[response.status_code]
            return JsonResponse({"code": code, "detail": detail}, status=response.status_code)
        return response
