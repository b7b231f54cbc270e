"""The API answers hostile or mistaken requests with JSON errors, never a 500 or an HTML page:
NUL characters in the path, query or headers, unknown URLs and non-numeric ids."""

import pytest

pytestmark = pytest.mark.django_db


def error_fields(response) -> list[tuple[str, str]]:
    return [(e["field"], e["code"]) for e in response.json()["errors"]]


def test_nul_in_a_query_parameter_is_a_400_naming_it(key_client, channel):
    response = key_client(channel).get("/api/v1/availability/", {"sku": "TEE\x00"})
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert error_fields(response) == [("sku", "null_characters_not_allowed")]


def test_nul_in_a_header_is_a_400_naming_it(key_client, channel):
    response = key_client(channel).post(
        "/api/v1/orders/", {"lines": []}, format="json", HTTP_IDEMPOTENCY_KEY="k\x00"
    )
    assert response.status_code == 400
    assert error_fields(response) == [("Idempotency-Key", "null_characters_not_allowed")]


def test_nul_in_a_path_value_is_a_400(key_client, channel):
    response = key_client(channel).get("/api/v1/orders/A%00B/")
    assert response.status_code == 400
    assert error_fields(response) == [("path", "null_characters_not_allowed")]


def test_nul_in_a_body_string_is_refused_by_the_serializer(key_client, channel):
    response = key_client(channel).post(
        "/api/v1/orders/", {"lines": [{"sku": "T\x00", "quantity": 1}]}, format="json"
    )
    assert response.status_code == 400
    assert error_fields(response) == [("lines.0.sku", "null_characters_not_allowed")]


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/no-such-thing/",
        "/api/v2/",
        "/api/v1/products/abc/",
        "/api/v1/catalog/products/abc/",
        "/api/v1/api-keys/abc/revoke/",
        "/api/v1/customers/1x/export/",
    ],
)
def test_unknown_api_urls_and_non_numeric_ids_are_json_404(admin_client_api, path):
    response = admin_client_api.get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "not_found"


def test_a_request_django_refuses_is_a_json_400(api_client, db):
    response = api_client.get("/api/v1/", HTTP_HOST="evil.example.com")
    assert response.status_code == 400
    assert response.json()["code"] == "bad_request"


def test_a_missing_slash_still_redirects(admin_client_api):
    response = admin_client_api.get("/api/v1/channels")
    assert response.status_code == 301
    assert response["Location"] == "/api/v1/channels/"


def test_pages_outside_the_api_keep_their_html_404(admin_client):
    response = admin_client.get("/admin/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_every_operation_documents_its_json_errors(client):
    document = client.get("/api/schema/?format=json").json()
    error = {"$ref": "#/components/schemas/Error"}
    assert document["components"]["schemas"]["Error"]["required"] == ["code", "detail"]
    for path, item in document["paths"].items():
        for method, operation in item.items():
            for code in ("400", "401", "403", "404", "429"):
                content = operation["responses"][code]["content"]["application/json"]
                assert content["schema"] == error, (method, path, code)
