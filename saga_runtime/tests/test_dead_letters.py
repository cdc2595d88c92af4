"""Dead letters for people, against the real broker and database: what the service's worker
parked and why, listed without disturbing anything, and replayed once, from the command line and
from the admin."""

import re
import uuid

import pytest
from confluent_kafka import TopicPartition
from confluent_kafka.admin import AdminClient
from django.contrib.auth.models import Permission
from django.core.management import CommandError, call_command

from saga_events import OrderPlacedEvent, PaymentFailedEvent
from saga_events.codec import EventDecodeError, decode, encode
from saga_events.topics import dead_letter_topic
from saga_runtime.testing import committed_offsets

pytestmark = pytest.mark.django_db(transaction=True)

#: A record that is not an event: the worker parks it at once, without retrying it.
NOT_AN_EVENT = b'{"not": "an event"}'

ADMIN_PAGE = "/admin/saga_runtime/deadletter/"


@pytest.fixture
def park(kafka, outcomes_of):
    """``park(topic)``: send a record that is not an event, under a key of its own, to the
    contract topic ``topic``; return its key once the session's worker has parked it.

    (Records parked by a failing handler stay for the listing test: replayed, they would only
    fail and be parked again in the session's worker.)
    """

    def park(topic: str) -> str:
        key = str(uuid.uuid4())
        kafka.send(
            kafka.config.topic_prefix + topic,
            NOT_AN_EVENT,
            key=key,
            headers={"eventType": "OrderPlacedEvent", "content-type": "application/json"},
        )
        assert outcomes_of(key, count=1) == ["dead_lettered"]
        return key

    return park


def records_with_key(kafka, topic: str, key: str) -> list:
    """Every record with ``key`` on ``topic``, and provably no more: a marker with the same key
    (so on the same partition) is sent after them and read."""
    marker = f"marker {uuid.uuid4()}".encode()
    kafka.send(topic, marker, key=key)
    messages = kafka.read(topic, until=lambda ms: any(m.value() == marker for m in ms))
    return [m for m in messages if m.key() == key.encode() and not m.value().startswith(b"marker ")]


def listing(topic: str, *args: str, capsys) -> tuple[str, list[str]]:
    """``list_dead_letters``'s heading and its records, one text block each."""
    call_command("list_dead_letters", topic, *args)
    heading, *rest = capsys.readouterr().out.splitlines()
    blocks = []
    for line in rest:
        if line.startswith("partition "):
            blocks.append(line)
        elif line.startswith("  "):
            blocks[-1] += "\n" + line
    return heading, blocks


def block_of(blocks: list[str], key: str) -> str:
    [block] = [block for block in blocks if f"\n  key: {key}\n" in block]
    return block


def session_groups(config) -> set[str]:
    """The consumer groups on the broker that belong to this test session."""
    groups = AdminClient(config.admin_config()).list_consumer_groups(request_timeout=10).result()
    return {
        group.group_id for group in groups.valid if group.group_id.startswith(config.consumer_group)
    }


def test_the_listing_shows_each_parked_record_where_it_came_from_and_why(
    kafka, outcomes_of, payment_failed, park, capsys
):
    # Its handler raises ValueError("the handler has a bug"); its value is over 200 bytes long.
    failing = payment_failed("bug" + " and a long story" * 5)
    kafka.send_event(failing)
    assert outcomes_of(failing.order_number, count=1) == ["dead_lettered"]
    not_an_event = park("payment-failed-topic")
    topic = kafka.config.topic(PaymentFailedEvent)
    [original] = records_with_key(kafka, topic, str(failing.order_number))
    groups = session_groups(kafka.config)

    heading, blocks = listing("payment-failed-topic", capsys=capsys)

    count = int(heading.split()[0])
    assert count >= 2
    assert heading == (
        f"{count} records parked by runtime on {dead_letter_topic(topic)}, {count} not replayed:"
    )
    assert len(blocks) == count
    block = block_of(blocks, str(failing.order_number))
    assert re.match(r"partition \d+ offset \d+, parked \S+ \S+ UTC, not replayed\n", block)
    assert (
        f"\n  from: {topic} partition {original.partition()} offset {original.offset()}\n" in block
    )
    assert "\n  error: ValueError: the handler has a bug\n" in block
    value = encode(failing)
    assert f"\n  value: {value[:200].decode()}… ({len(value)} bytes)" in block
    with pytest.raises(EventDecodeError) as reason:
        decode(PaymentFailedEvent, NOT_AN_EVENT)
    assert f"\n  error: EventDecodeError: {reason.value}\n" in block_of(blocks, not_an_event)
    assert f"\n  value: {NOT_AN_EVENT.decode()} ({len(NOT_AN_EVENT)} bytes)" in block_of(
        blocks, not_an_event
    )
    # Read by assignment: no consumer group was joined or created, no offset committed.
    assert session_groups(kafka.config) == groups


def test_the_listing_counts_every_record_and_shows_as_many_as_the_limit_says(park, capsys):
    park("order-placed-topic")
    park("order-placed-topic")

    heading, blocks = listing("order-placed-topic", "--limit", "1", capsys=capsys)

    assert int(heading.split()[0]) >= 2
    assert heading.endswith("; the first 1:")
    assert len(blocks) == 1


def test_the_listing_names_records_other_services_parked_without_listing_them(kafka, capsys):
    topic = kafka.config.topic(OrderPlacedEvent)
    key = str(uuid.uuid4())
    kafka.send(
        dead_letter_topic(topic),
        NOT_AN_EVENT,
        key=key,
        headers={"dlt-consumer": "inventory", "dlt-error-class": "EventDecodeError"},
    )

    call_command("list_dead_letters", "order-placed-topic")

    out = capsys.readouterr().out
    assert key not in out
    assert "records parked by other services (inventory); list them from that service." in out


def committed_on(config, topic: str) -> dict[str, list[TopicPartition]]:
    """The offsets any consumer group of this test session has committed on ``topic``, by
    group (the dead-letter reader's own group name among those asked, listed or not)."""
    groups = session_groups(config) | {f"{config.consumer_group}-dlt-reader"}
    return {
        group: offsets
        for group in sorted(groups)  # the client asks for one group at a time
        if (offsets := committed_offsets(config, group, topic))
    }


def test_the_listing_commits_no_offset_on_the_dead_letter_topic(kafka, park, capsys):
    key = park("order-placed-topic")
    dlt = dead_letter_topic(kafka.config.topic(OrderPlacedEvent))

    _heading, blocks = listing("order-placed-topic", capsys=capsys)

    assert block_of(blocks, key)
    assert committed_on(kafka.config, dlt) == {}


@pytest.mark.parametrize("command", ["list_dead_letters", "replay_dead_letters"])
def test_an_unknown_topic_or_a_limit_under_one_is_refused(command):
    with pytest.raises(CommandError, match=r"Unknown topic 'nope'; one of: .*order-placed-topic"):
        call_command(command, "nope")
    with pytest.raises(CommandError, match=r"--limit: must be a whole number, 1 or more"):
        call_command(command, "order-placed-topic", "--limit", "0")


def test_a_dry_run_replays_nothing_and_a_real_replay_after_it_sends_each_record_back_once(
    kafka, park, capsys
):
    keys = [park("order-placed-topic"), park("order-placed-topic")]
    topic = kafka.config.topic(OrderPlacedEvent)

    call_command("replay_dead_letters", "order-placed-topic", "--dry-run")
    call_command("replay_dead_letters", "order-placed-topic", "--dry-run")

    dry = capsys.readouterr().out
    assert "would be replayed to" in dry and "(dry run: nothing sent)" in dry
    for key in keys:
        assert dry.count(f"key {key}: EventDecodeError: ") == 2  # listed by both runs
        assert len(records_with_key(kafka, topic, key)) == 1  # the original alone

    call_command("replay_dead_letters", "order-placed-topic")
    call_command("replay_dead_letters", "order-placed-topic")

    out = capsys.readouterr().out
    for key in keys:
        assert out.count(f"key {key}: EventDecodeError: ") == 1  # the second run sends nothing
        original, replay = records_with_key(kafka, topic, key)
        assert replay.value() == original.value()
        assert dict(replay.headers()) == dict(original.headers())
        assert not any(name.startswith("dlt-") for name, _ in replay.headers())


# -- the admin page --------------------------------------------------------------------------


@pytest.fixture
def staff(django_user_model):
    """``staff(*permissions)``: a logged-out staff user with these saga_runtime permissions."""

    def make(*codenames: str):
        user = django_user_model.objects.create_user(
            f"staff-{uuid.uuid4().hex[:8]}", password="pw", is_staff=True
        )
        user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
        return user

    return make


def test_the_admin_page_lists_the_services_parked_records_and_replays_the_selected_once(
    kafka, park, staff, client, settings
):
    settings.DEBUG = False
    mine, not_selected = park("payment-failed-topic"), park("payment-failed-topic")
    topic = kafka.config.topic(PaymentFailedEvent)
    theirs = str(uuid.uuid4())
    kafka.send(
        dead_letter_topic(topic), NOT_AN_EVENT, key=theirs, headers={"dlt-consumer": "inventory"}
    )
    client.force_login(staff("view_deadletter", "replay_deadletter"))

    page = client.get(ADMIN_PAGE)

    assert page.status_code == 200
    html = page.content.decode()
    assert mine in html and not_selected in html and theirs not in html
    assert "EventDecodeError" in html and "Replay the selected records" in html
    [record] = [r for r in page.context["records"] if r.key_text == mine]
    assert f'name="_selected_action" value="{record.id}"' in html

    for _ in range(2):
        answer = client.post(
            ADMIN_PAGE, {"action": "replay", "_selected_action": [record.id]}, follow=True
        )
        assert answer.status_code == 200
    notes = [str(message) for message in answer.context["messages"]]

    assert notes == ["0 records replayed."]  # the second post: already replayed
    assert len(records_with_key(kafka, topic, mine)) == 2  # the original and one replay
    assert len(records_with_key(kafka, topic, not_selected)) == 1
    [record] = [r for r in answer.context["records"] if r.key_text == mine]
    assert record.replayed_at is not None
    assert f'value="{record.id}"' not in answer.content.decode()


def test_the_admin_page_is_for_staff_with_permission_and_replaying_needs_its_own(
    staff, client, django_user_model
):
    assert client.get(ADMIN_PAGE).url.startswith("/admin/login/")
    client.force_login(django_user_model.objects.create_user("customer", password="pw"))
    assert client.get(ADMIN_PAGE).url.startswith("/admin/login/")

    client.force_login(staff())
    assert client.get(ADMIN_PAGE).status_code == 403

    client.force_login(staff("view_deadletter"))
    page = client.get(ADMIN_PAGE)
    assert page.status_code == 200
    assert "Replay the selected records" not in page.content.decode()
    assert client.post(ADMIN_PAGE, {"action": "replay"}).status_code == 403


def test_the_admin_page_shows_list_per_page_records_at_a_time(park, staff, client, monkeypatch):
    from saga_runtime.admin import DeadLetterAdmin

    keys = {park("payment-failed-topic") for _ in range(3)}
    monkeypatch.setattr(DeadLetterAdmin, "list_per_page", 2)
    client.force_login(staff("view_deadletter"))

    first = client.get(ADMIN_PAGE)
    total = len(first.context["page"].paginator.object_list)
    pages = [client.get(ADMIN_PAGE, {"p": n}) for n in range(1, (total + 1) // 2 + 1)]

    assert len(first.context["records"]) == 2
    assert f"{total} records parked" in first.content.decode()
    assert 'href="?p=2"' in first.content.decode()
    shown = [record for page in pages for record in page.context["records"]]
    assert len({record.id for record in shown}) == len(shown) == total  # each once, in all
    assert keys <= {record.key_text for record in shown}
