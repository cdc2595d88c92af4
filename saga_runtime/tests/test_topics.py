"""Topic creation against the real broker."""

from confluent_kafka.admin import AdminClient
from django.core.management import call_command

from saga_runtime.topics import create_topics


def test_every_contract_topic_and_its_dead_letter_twin_exist_with_three_partitions(saga_config):
    topics = AdminClient(saga_config.admin_config()).list_topics(timeout=10).topics
    for name in saga_config.all_topics():
        assert name in topics
        assert len(topics[name].partitions) == 3
    assert len(saga_config.all_topics()) == 26  # 13 contract topics, each with a .DLT twin
    assert f"{saga_config.topic_prefix}order-placed-topic.DLT" in topics


def test_creating_topics_again_changes_nothing(saga_config, capsys):
    assert set(create_topics(saga_config).values()) == {"exists"}
    call_command("create_topics")
    assert "created" not in capsys.readouterr().out
