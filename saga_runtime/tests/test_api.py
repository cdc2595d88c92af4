"""The API layer every service shares: the error shape and hostile input."""

import pytest


@pytest.mark.parametrize(
    "url", ["/health/live?x=%00", "/health/%00live", "/health/live?a=1&a=b%00"]
)
def test_a_nul_in_the_path_or_query_answers_400(client, url):
    response = client.get(url)

    assert response.status_code == 400
    assert response.json() == {
        "status": 400,
        "error": "Bad Request",
        "detail": "NUL characters are not allowed.",
    }


def test_an_unknown_route_answers_404_in_the_error_shape(client):
    response = client.get("/no/such/thing")

    assert response.status_code == 404
    assert response.json() == {"status": 404, "error": "Not Found", "detail": "Not found."}
