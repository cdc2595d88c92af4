"""Replaying dead letters against the real broker."""

import pytest
from django.core.management import CommandError, call_command

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_dead_letter_goes_back_to_its_topic_once_without_dlt_headers(
    kafka, outcomes_of, payment_failed, capsys
):
    event = payment_failed("bug")
    kafka.send_event(event)
    topic = kafka.config.topic(type(event))
    assert outcomes_of(event.order_number, count=1) == ["dead_lettered"]
    key = str(event.order_number).encode()

    call_command("replay_dead_letters", "payment-failed-topic", "--idle-seconds", "3")
    call_command("replay_dead_letters", "payment-failed-topic", "--idle-seconds", "3")

    out = capsys.readouterr().out
    assert f"key {event.order_number}: the handler has a bug" in out
    assert out.count(f"key {event.order_number}") == 1  # the second run replays nothing new
    copies = [
        m
        for m in kafka.read(topic, until=lambda ms: sum(m.key() == key for m in ms) >= 2)
        if m.key() == key
    ]
    original, replay = copies[:2]
    assert replay.value() == original.value()
    assert dict(replay.headers()) == dict(original.headers())
    assert not any(name.startswith("dlt-") for name, _ in replay.headers())


def test_replaying_an_unknown_topic_is_refused():
    with pytest.raises(CommandError, match="Unknown topic 'nope'"):
        call_command("replay_dead_letters", "nope")
