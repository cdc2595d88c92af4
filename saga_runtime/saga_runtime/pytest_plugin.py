"""The pytest plugin every service's tests get (installed with saga-runtime as ``pytest11``).

Where no PostgreSQL or Kafka address is given (neither DATABASE_URL nor KAFKA_BOOTSTRAP_SERVERS
set), a Docker engine is there (DOCKER_HOST or its socket) and ``SAGA_TESTCONTAINERS`` is not
``0``, it starts both (and Zipkin, unless ZIPKIN_ENDPOINT is set) with testcontainers before
Django loads its settings, and points the environment at them; otherwise the tests use the
given (or default local) infrastructure, as started by tools/infra.sh.
"""

import os
import uuid
from pathlib import Path

import pytest


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config, parser, args):
    # A wrapper runs before pytest-django's own hook, i.e. before Django reads the environment.
    if _wants_containers():
        _start_containers(early_config)
    return (yield)


def _wants_containers() -> bool:
    if os.environ.get("SAGA_TESTCONTAINERS", "auto") == "0":
        return False
    if os.environ.get("SAGA_TESTCONTAINERS") == "1":
        return True
    unset = "DATABASE_URL" not in os.environ and "KAFKA_BOOTSTRAP_SERVERS" not in os.environ
    return unset and _docker_engine()


def _docker_engine() -> bool:
    """Whether a Docker engine is there to ask: DOCKER_HOST, or the default socket."""
    return bool(os.environ.get("DOCKER_HOST")) or Path("/var/run/docker.sock").exists()


def _start_containers(config) -> None:
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.kafka import KafkaContainer
    from testcontainers.postgres import PostgresContainer

    postgres = PostgresContainer("postgres:16-alpine", driver=None).start()
    config.add_cleanup(postgres.stop)
    kafka = KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft().start()
    config.add_cleanup(kafka.stop)
    os.environ["DATABASE_URL"] = postgres.get_connection_url()
    os.environ["KAFKA_BOOTSTRAP_SERVERS"] = kafka.get_bootstrap_server()
    if "ZIPKIN_ENDPOINT" not in os.environ:
        zipkin = DockerContainer("openzipkin/zipkin:3").with_exposed_ports(9411).start()
        config.add_cleanup(zipkin.stop)
        wait_for_logs(zipkin, "Started ZipkinServer", timeout=120)
        url = f"http://{zipkin.get_container_host_ip()}:{zipkin.get_exposed_port(9411)}"
        os.environ["ZIPKIN_URL"] = url
        os.environ["ZIPKIN_ENDPOINT"] = f"{url}/api/v2/spans"


@pytest.fixture(scope="session")
def saga_config():
    """The runtime config of the session, with its private topics created on the broker and
    deleted after the session (every topic under the session's prefix, which tests extend)."""
    from saga_runtime.conf import get_config
    from saga_runtime.topics import create_topics, delete_topics

    config = get_config()
    create_topics(config)
    yield config
    if config.topic_prefix:
        delete_topics(config.bootstrap_servers, config.topic_prefix)


@pytest.fixture(scope="session")
def kafka(saga_config):
    """A :class:`saga_runtime.testing.KafkaTestClient` on the session's topics."""
    from saga_runtime.testing import KafkaTestClient

    client = KafkaTestClient(saga_config)
    yield client
    client.close()


@pytest.fixture(scope="session")
def saga_worker(saga_config):
    """This service's real worker (its HANDLERS) with a consumer group of its own.

    Tests drive it with :func:`saga_runtime.testing.run_worker_until`; it commits to PostgreSQL
    for real, so they use ``transactional_db``.
    """
    from saga_runtime.worker import SagaWorker, load_handlers

    worker = SagaWorker(
        load_handlers(saga_config.handlers_path),
        config=saga_config,
        group=f"{saga_config.consumer_group}-{uuid.uuid4().hex[:8]}",
    )
    yield worker
    worker.consumer.close()
    worker.producer.flush(10)


@pytest.fixture
def relay(saga_config):
    """The outbox relay, to publish what a test's transactions wrote to the outbox."""
    from confluent_kafka import Producer

    from saga_runtime.relay import OutboxRelay

    return OutboxRelay(Producer(saga_config.producer_config()))


@pytest.fixture
def published(kafka):
    """``published(EventClass, order_number)``: the order's records of that class on Kafka."""
    return kafka.published


@pytest.fixture
def outcomes_of(saga_worker):
    """``outcomes_of(order_number, count)``: consume until ``count`` records of the order were
    applied by the session's worker; their outcomes (handled, duplicate, dead_lettered)."""
    from saga_runtime.testing import consume_outcomes

    return lambda key, count, timeout=30: consume_outcomes(saga_worker, key, count, timeout=timeout)


def _token_of(user) -> str:
    from rest_framework.authtoken.models import Token

    return Token.objects.get_or_create(user=user)[0].key


def _token_client(token: str):
    from django.test import Client

    return Client(headers={"Authorization": f"Token {token}"})


@pytest.fixture
def api_user(db, django_user_model):
    """A user of the API without staff rights (password ``customer-pw``)."""
    return django_user_model.objects.create_user(username="customer", password="customer-pw")


@pytest.fixture
def staff_user(db, django_user_model):
    """A staff user (not a superuser)."""
    return django_user_model.objects.create_user(username="clerk", is_staff=True)


@pytest.fixture
def api_token(api_user) -> str:
    return _token_of(api_user)


@pytest.fixture
def staff_token(staff_user) -> str:
    return _token_of(staff_user)


@pytest.fixture
def api_client(api_token):
    """A test client authenticated as ``api_user`` with an API token, as a program would be."""
    return _token_client(api_token)


@pytest.fixture
def staff_client(staff_token):
    """A test client authenticated as ``staff_user`` with an API token."""
    return _token_client(staff_token)


@pytest.fixture
def anonymous_client():
    """A test client without credentials."""
    from django.test import Client

    return Client()
