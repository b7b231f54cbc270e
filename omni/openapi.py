"""OpenAPI post-processing: every operation documents the JSON error answers the exception
handler (omni.errors) gives, so clients and the fuzz tests can rely on their shape."""

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every 4xx/5xx answer: a machine-readable `code`, a message, and for invalid "
    "input one entry per offending field. Some errors add details (e.g. `shortfalls`).",
    "properties": {
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {"type": "array", "items": {"$ref": "#/components/schemas/FieldError"}},
        "retry_after": {"type": "integer", "description": "Seconds to wait (429)."},
    },
    "required": ["code", "detail"],
    "additionalProperties": True,
}
FIELD_ERROR_SCHEMA = {
    "type": "object",
    "properties": {
        "field": {
            "type": "string",
            "description": "Dotted path of the field, header or parameter.",
        },
        "code": {"type": "string"},
        "message": {"type": "string"},
    },
    "required": ["field", "code", "message"],
}

EVERY_OPERATION = {
    "400": "Invalid input: `errors` names each field with its code.",
    "401": "Missing, malformed, unknown or revoked credentials.",
    "403": "The credentials lack the scope or permission this operation needs.",
    "404": "No such object, or not visible to the caller's channel.",
    "429": "Rate limited: retry after the `Retry-After` header's seconds.",
    "503": "The database is unavailable for a moment: retry (`Retry-After`).",
}
WRITES = {
    "409": "Refused in the current state (e.g. short stock, illegal transition, in use).",
    "413": "The body is larger than the limit.",
    "415": "The body's content type is not accepted.",
}
WRITE_METHODS = {"post", "put", "patch", "delete"}


def _error_response(description: str) -> dict:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def add_error_responses(result, generator, request, public):
    """drf-spectacular postprocessing hook: an `Error` component, referenced by the error
    answers of every operation that does not document them itself."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas["Error"] = ERROR_SCHEMA
    schemas["FieldError"] = FIELD_ERROR_SCHEMA
    for path_item in result.get("paths", {}).values():
        for method, operation in path_item.items():
            responses = operation.setdefault("responses", {})
            codes = dict(EVERY_OPERATION)
            if method in WRITE_METHODS:
                codes.update(WRITES)
            for code, description in codes.items():
                responses.setdefault(code, _error_response(description))
    return result
