"""The API layer every service shares: the error shape and hostile input."""

import pytest
from rest_framework import serializers

from saga_runtime.api import FlatSerializer


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


class Quantity(FlatSerializer):
    quantity = serializers.IntegerField(min_value=1, max_value=10)
    note = serializers.CharField(max_length=3, required=False)


def test_flat_serializers_validate_each_instance_on_its_own_fields():
    first, second = Quantity(data={"quantity": 0}), Quantity(data={"quantity": 5, "note": "ok"})

    assert not first.is_valid()
    assert second.is_valid()
    assert set(first.errors) == {"quantity"}
    assert second.validated_data == {"quantity": 5, "note": "ok"}
    # Each instance binds copies of its own; the class's fields stay unbound.
    assert first.fields["quantity"] is not second.fields["quantity"]
    assert first.fields["quantity"].parent is first
    assert Quantity._declared_fields["quantity"].parent is None


def test_a_flat_serializer_refuses_a_nested_one_or_a_shared_mutable_default():
    with pytest.raises(TypeError, match="lines, tags, labels, extra are not plain fields"):

        class Order(FlatSerializer):
            lines = Quantity(many=True)
            tags = serializers.ListField(child=serializers.CharField())
            labels = serializers.DictField(child=serializers.CharField())
            extra = serializers.JSONField(default={})  # one dict every request would share
