from django.db import models


class OutboxMessage(models.Model):
    """An event waiting to leave, written in the same transaction as the change that caused it.

    The relay publishes unsent rows in ``id`` order and then stamps ``sent_at``. Rows of one
    order are written under that order's row lock, so their ids follow their commit order.
    """

    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=100)
    topic = models.CharField(max_length=255)
    key = models.CharField(max_length=255)
    payload = models.TextField()
    headers = models.JSONField(default=dict, help_text="Kafka headers, e.g. traceparent.")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["id"], condition=models.Q(sent_at__isnull=True), name="outbox_unsent_idx"
            ),
            models.Index(fields=["sent_at"], name="outbox_sent_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} ({'sent' if self.sent_at else 'pending'})"


class ProcessedEvent(models.Model):
    """Marks an event a consumer has applied; the unique key is what rejects a redelivery."""

    consumer = models.CharField(max_length=100)
    event_id = models.UUIDField()
    topic = models.CharField(max_length=255)
    processed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["consumer", "event_id"], name="processed_once")
        ]
        indexes = [models.Index(fields=["processed_at"], name="processed_at_idx")]

    def __str__(self) -> str:
        return f"{self.consumer} {self.event_id}"


class DeadLetter(models.Model):  # noqa: DJ008 (no rows to name)
    """No table: the admin's "Dead letters" page and its permissions hang on this model.

    The records themselves stay on the ``.DLT`` topics, where the page reads them on each visit
    (saga_runtime.dead_letters; docs/decisions/0012).
    """

    class Meta:
        managed = False
        default_permissions = ("view",)
        permissions = [("replay_deadletter", "Can replay dead letters")]


class DeadLetterReplay(models.Model):
    """A parked record this service has sent back to its topic: what makes a replay happen once.

    A record is named by its place on the ``.DLT`` topic and the time it was parked: a broker
    whose data was wiped hands out the same offsets again, and a new record there must not pass
    for one replayed before.
    """

    topic = models.CharField(max_length=255, help_text="The .DLT topic.")
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    parked_at = models.DateTimeField()
    replayed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "partition", "offset", "parked_at"], name="replayed_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.topic} {self.partition}:{self.offset}"
