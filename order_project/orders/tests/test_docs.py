"""The API's description: an OpenAPI 3 schema and two readers of it, served by the service
itself (no CDN), open to anyone."""

import re

import pytest
import yaml

pytestmark = pytest.mark.django_db


def test_the_schema_describes_every_operation_in_yaml_and_json(anonymous_client):
    as_yaml = anonymous_client.get("/api/schema/")
    as_json = anonymous_client.get("/api/schema/?format=json")

    assert as_yaml.status_code == as_json.status_code == 200
    schema = yaml.safe_load(as_yaml.content)
    assert schema == as_json.json()
    assert schema["openapi"].startswith("3.")
    operations = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert operations == {
        ("/api/orders", "get"),
        ("/api/orders", "post"),
        ("/api/orders/{id}", "get"),
    }
    # Every error answer is documented in the one error shape.
    post = schema["paths"]["/api/orders"]["post"]
    for code in ("400", "401", "422", "503"):
        assert post["responses"][code]["content"]["application/json"]["schema"] == {
            "$ref": "#/components/schemas/Error"
        }


@pytest.mark.parametrize(
    ("path", "asset"),
    [
        ("/api/docs/", "drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"),
        ("/api/redoc/", "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"),
    ],
)
def test_the_docs_pages_load_their_assets_from_the_service(anonymous_client, path, asset):
    response = anonymous_client.get(path)

    assert response.status_code == 200
    html = response.content.decode()
    loaded = re.findall(r"""<(?:script|link)\b[^>]*\b(?:src|href)=["']([^"']+)""", html)
    assert f"/static/{asset}" in loaded
    # Every script and stylesheet comes from this service: none from a CDN or any other host.
    assert [url for url in loaded if not url.startswith("/static/")] == []
    # And the browser may fetch nothing from elsewhere, whatever the bundles themselves link.
    assert "default-src 'self'" in response["Content-Security-Policy"].split("; ")
