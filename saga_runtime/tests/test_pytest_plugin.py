"""When the pytest plugin starts PostgreSQL and Kafka itself (testcontainers)."""

import pytest

from saga_runtime import pytest_plugin


@pytest.mark.parametrize(
    ("environment", "docker_engine", "started"),
    [
        ({}, True, True),
        ({}, False, False),  # no engine: the local infrastructure (tools/infra.sh), not an error
        ({"KAFKA_BOOTSTRAP_SERVERS": "localhost:9092"}, True, False),
        ({"DATABASE_URL": "postgres://u:p@localhost:5432/d"}, True, False),
        ({"SAGA_TESTCONTAINERS": "0"}, True, False),
        ({"SAGA_TESTCONTAINERS": "1", "KAFKA_BOOTSTRAP_SERVERS": "localhost:9092"}, True, True),
    ],
)
def test_containers_start_only_with_no_infrastructure_given_and_a_docker_engine_there(
    monkeypatch, environment, docker_engine, started
):
    for name in ("DATABASE_URL", "KAFKA_BOOTSTRAP_SERVERS", "SAGA_TESTCONTAINERS"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(pytest_plugin, "_docker_engine", lambda: docker_engine)

    assert pytest_plugin._wants_containers() is started
