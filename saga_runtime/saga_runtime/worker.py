"""The consumer loop every service's ``consume_saga`` runs: a batch of records, one transaction.

See docs/decisions/0009-batched-consumer-loop.md.
"""

import enum
import json
import logging
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import partial
from typing import NamedTuple

from confluent_kafka import Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition
from django.db import (
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils.module_loading import import_string
from opentelemetry import trace
from opentelemetry.trace import Span

from saga_events import Event
from saga_events.codec import EventDecodeError, decode
from saga_events.topics import dead_letter_topic

from . import handling, metrics, outbox, tracing
from .conf import RuntimeConfig, get_config
from .db import ConnectionRefresher
from .errors import InvalidEvent
from .handling import takes_list_of
from .kafka import produce_and_wait
from .logs import log_context, span_fields, written_together
from .models import ProcessedEvent
from .relay import OutboxRelay
from .retention import purge_saga_tables

logger = logging.getLogger(__name__)

#: A handler of one event, or of a list of them (saga_runtime.handling.takes_list).
Handler = Callable[[Event], None] | Callable[[list[Event]], None]

#: Failures of a dependency rather than of the record: retried with backoff, never dead-lettered.
TRANSIENT_ERRORS = (OperationalError, InterfaceError, KafkaException)


class Outcome(enum.StrEnum):
    HANDLED = "handled"
    DUPLICATE = "duplicate"
    DEAD_LETTERED = "dead_lettered"


class WorkerGaveUp(RuntimeError):
    """Too many failures in a row: the process should exit non-zero and be restarted."""


@contextmanager
def _without_savepoints():
    """Inside a batch's transaction, nested ``atomic`` blocks (every service function is one)
    open no savepoints. A savepoint would let a handler recover from an error and go on, but a
    batch is all or nothing: any error rolls the whole batch back and its records are applied
    again one at a time, with savepoints, where such a handler recovers. Without them a batch
    saves two round trips per record (SAVEPOINT, RELEASE). Django then marks the transaction
    for rollback at the first error inside a nested block, so nothing half-done can commit.
    The flag is on this thread's connection only."""
    features = connection.features
    features.uses_savepoints = False
    try:
        yield
    finally:
        del features.uses_savepoints


def load_periodic_tasks(path: str) -> Mapping[Callable[[], object], float]:
    """The ``{callable: seconds between runs}`` at ``path`` (none if ``path`` is empty)."""
    if not path:
        return {}
    tasks = import_string(path)
    for task, seconds in tasks.items():
        if not callable(task) or not (isinstance(seconds, int | float) and seconds > 0):
            raise TypeError(f"{path}: {task!r} must be callable with a positive number of seconds")
    return tasks


def load_handlers(path: str) -> Mapping[type[Event], Handler]:
    handlers = import_string(path)
    for event_class, handler in handlers.items():
        if not (isinstance(event_class, type) and issubclass(event_class, Event)):
            raise TypeError(f"{path}: key {event_class!r} is not an event class")
        if not callable(handler):
            raise TypeError(f"{path}: handler for {event_class.__name__} is not callable")
    return handlers


class _Record(NamedTuple):
    """A record of a batch being applied: its event, span and log fields."""

    message: Message
    event: Event
    span: Span
    fields: dict[str, str]


class SagaWorker:
    """Consumes the topics of a service's handlers and applies each record exactly once.

    Records come in batches: whatever the consumer has already fetched when the first record
    arrives, up to ``batch_max_records`` (waiting for more would only add latency). A batch is
    applied in one database transaction holding: the processed-events rows keyed on
    (consumer, eventId), inserted first in one statement so the unique key rejects a
    redelivery even when two arrive at once; each handler's effect, in the records' order (a
    handler that takes a list gets the fresh records of its type that stand together as one
    call, see saga_runtime.handling); and the events they write to the outbox. If anything in
    the batch fails, the whole transaction rolls back and the batch's records are applied again
    one at a time, each in a transaction of its own, so that only the failing record is retried
    or parked. The offsets are
    committed only after the records' transactions commit (asynchronously, then synchronously
    when partitions are revoked and at shutdown), so a crash in between means a redelivery,
    which the processed-events rows then absorb.

    A record that cannot be decoded, or whose handler raises :class:`InvalidEvent`, goes to
    ``<topic>.DLT`` at once. A handler that raises anything else is
    retried with backoff; after ``max_handler_attempts`` the record is dead-lettered, unless the
    error is transient (database or broker unavailable), which is retried without limit.
    After ``max_consecutive_failures`` failed attempts in a row (a record applied or parked
    ends the run) the worker raises :class:`WorkerGaveUp`, leaving the record uncommitted for
    the restarted process.
    """

    def __init__(
        self,
        handlers: Mapping[type[Event], Handler],
        *,
        config: RuntimeConfig | None = None,
        group: str | None = None,
        instance_id: str | None = None,
    ) -> None:
        self.config = config or get_config()
        self.handlers = handlers
        self.consumer_name = self.config.service
        self.event_classes = {self.config.topic(cls): cls for cls in handlers}
        #: Static membership id (``group.instance.id``), or None for a dynamic member.
        self.instance_id = instance_id or self.config.group_instance_id
        self.consumer = Consumer(self.config.consumer_config(group, self.instance_id))
        self.producer = Producer(self.config.producer_config())
        self.stopping = threading.Event()
        self.consecutive_failures = 0
        self.last_progress = time.monotonic()
        self.assigned: set[tuple[str, int]] = set()
        #: The next offset of each partition whose last applied record may not be committed yet.
        self.applied: dict[tuple[str, int], int] = {}
        self._uncommitted = False  # applied since the last asynchronous commit
        self._commit_due = 0.0
        self._refresh_connection = ConnectionRefresher()
        self.consumer.subscribe(
            list(self.event_classes), on_assign=self._on_assign, on_revoke=self._on_revoke
        )

    # -- the loop ---------------------------------------------------------------------------

    def run(self, *, relay: bool = True) -> None:
        """Consume until SIGTERM/SIGINT (or :meth:`stop`), then shut down cleanly.

        The record in hand is finished and its offset committed before the consumer closes;
        the outbox relay and periodic task threads are stopped and the producers flushed.
        """
        self._install_signal_handlers()
        tasks = {purge_saga_tables: self.config.purge_interval_seconds} | load_periodic_tasks(
            self.config.periodic_tasks_path
        )
        threads = [
            threading.Thread(
                target=self._run_periodic, args=(task, seconds), name=task.__name__, daemon=True
            )
            for task, seconds in tasks.items()
        ]
        if relay:
            threads.append(
                threading.Thread(
                    target=OutboxRelay(Producer(self.config.producer_config())).run,
                    kwargs={
                        "stop": self.stopping,
                        "poll_seconds": self.config.relay_poll_seconds,
                        "backoff_max": self.config.retry_backoff_max_seconds,
                    },
                    name="outbox-relay",
                    daemon=True,
                )
            )
        for thread in threads:
            thread.start()
        logger.info(
            "worker started",
            extra={"topics": sorted(self.event_classes), "groupInstanceId": self.instance_id},
        )
        try:
            while not self.stopping.is_set():
                self.poll_once(timeout=1.0)
        finally:
            self.stopping.set()
            for thread in threads:
                thread.join(timeout=60)
            self.close()
            logger.info("worker stopped")

    def _run_periodic(self, task: Callable[[], object], seconds: float) -> None:
        """Run ``task`` every ``seconds`` until the worker stops. A failure (the database down)
        is logged and the next run tries again: the task must be safe to repeat, and to run
        in several workers at once."""
        while not self.stopping.wait(seconds):
            close_old_connections()
            try:
                task()
            except Exception:
                logger.exception(
                    "periodic task %s failed; it runs again in %s s", task.__name__, seconds
                )
        connection.close()

    def stop(self, *_args) -> None:
        self.stopping.set()

    def close(self) -> None:
        self._commit_applied()
        self.consumer.close()
        self.producer.flush(30)
        connection.close()
        # The batch span processor exports every few seconds; a stopping worker sends its
        # last spans now rather than lose them.
        tracing.flush()

    def poll_once(self, timeout: float = 1.0) -> list[Outcome | None]:
        """Wait up to ``timeout`` for records, apply the batch that arrived and commit its
        offsets; return each record's outcome (empty: nothing arrived)."""
        self.last_progress = time.monotonic()
        messages = self._next_batch(timeout)
        if not messages:
            self._commit_when_due()
            return []
        outcomes = self.process_batch(messages)
        self._commit_batch(messages, outcomes)
        return outcomes

    def _next_batch(self, timeout: float) -> list[Message]:
        first = self.consumer.poll(timeout)
        if first is None:
            return []
        rest = []
        if self.config.batch_max_records > 1:
            rest = self.consumer.consume(self.config.batch_max_records - 1, 0)
        messages = []
        for message in [first, *rest]:
            if message.error():
                self._log_consumer_error(message.error())
            # A record of a partition revoked meanwhile is its new owner's to apply.
            elif (message.topic(), message.partition()) in self.assigned:
                messages.append(message)
        return messages

    def _commit_batch(self, messages: list[Message], outcomes: list[Outcome | None]) -> None:
        """Note the offsets after the batch's records applied or parked, and commit them if a
        commit is due. Records after one left unapplied (the worker is stopping) are not."""
        last: dict[tuple[str, int], Message] = {}
        for message, outcome in zip(messages, outcomes, strict=True):
            if outcome is None:
                break
            last[(message.topic(), message.partition())] = message
        for key, message in last.items():
            self.applied[key] = message.offset() + 1
            self._record_lag(message)
        self._uncommitted |= bool(last)
        self._commit_when_due()

    def _commit_when_due(self) -> None:
        """Commit the applied offsets at most every ``commit_interval_seconds``, asynchronously.

        Waiting for the broker would cost every batch a round trip, and a commit per batch at
        low load is a commit per record: the broker's largest cost. A lost or late commit only
        means a redelivery after a crash, which the processed-events rows absorb; on revocation
        and shutdown the offsets are committed synchronously (_commit_applied).
        """
        if not self._uncommitted or time.monotonic() < self._commit_due:
            return
        self.consumer.commit(
            offsets=[TopicPartition(*key, offset) for key, offset in self.applied.items()],
            asynchronous=True,
        )
        self._uncommitted = False
        self._commit_due = time.monotonic() + self.config.commit_interval_seconds

    def _commit_applied(self, partitions: set[tuple[str, int]] | None = None) -> None:
        """Commit, and wait for, the offsets after the records applied (on ``partitions``)."""
        keys = [key for key in self.applied if partitions is None or key in partitions]
        offsets = [TopicPartition(*key, self.applied.pop(key)) for key in keys]
        if not offsets:
            return
        try:
            self.consumer.commit(offsets=offsets, asynchronous=False)
        except KafkaException as error:
            logger.warning(
                "offset commit failed; the records will come again as duplicates: %s", error
            )

    # -- a batch ----------------------------------------------------------------------------

    def process_batch(self, messages: list[Message]) -> list[Outcome | None]:
        """Apply ``messages`` in order; return each one's outcome.

        The batch, one record or several, is tried in one transaction without savepoints; if
        that fails, its records are applied one at a time by :meth:`process` instead, each with
        the savepoints a handler may need to recover from an error, and retries. A batch of one
        takes the first way too: under a light load most batches hold one record, and its
        savepoint was two more round trips (docs/decisions/0018). None marks a record left
        unapplied because the worker was stopped; every record after it is left too.
        """
        for topic, count in Counter(message.topic() for message in messages).items():
            metrics.RECORDS_CONSUMED.labels(topic).inc(count)
        if messages:
            outcomes = self._apply_batch(messages)
            if outcomes is not None:
                return outcomes
        outcomes: list[Outcome | None] = []
        try:
            for message in messages:
                outcomes.append(self._process(message))
                if outcomes[-1] is None:  # stopping: the rest is for the next process
                    break
        except WorkerGaveUp:
            # The records applied before the one it gave up on are committed on the way out.
            self._commit_batch(messages[: len(outcomes)], outcomes)
            raise
        return outcomes + [None] * (len(messages) - len(outcomes))

    def _apply_batch(self, messages: list[Message]) -> list[Outcome] | None:
        """All of ``messages`` in one transaction; None (and nothing applied) if any failed."""
        try:
            events = [decode(self.event_classes[m.topic()], m.value() or b"") for m in messages]
        except EventDecodeError:
            return None  # the record is parked when applied alone
        self._refresh_connection()
        started = time.perf_counter()
        spans = [tracing.start_consumer_span(message) for message in messages]
        fields = [self._record_fields(m, e) for m, e in zip(messages, events, strict=True)]
        outcomes: list[Outcome] = []
        try:
            with transaction.atomic(), _without_savepoints(), outbox.batched():
                fresh = self._mark_processed(events, [m.topic() for m in messages])
                run: list[_Record] = []
                for record in map(_Record, messages, events, spans, fields):
                    event = record.event
                    if event.event_id not in fresh:
                        outcomes.append(Outcome.DUPLICATE)
                        continue
                    fresh.discard(event.event_id)  # the same event twice in one batch
                    outcomes.append(Outcome.HANDLED)
                    if run and type(run[0].event) is not type(event):
                        self._handle(run)
                        run = []
                    run.append(record)
                    if not takes_list_of(self.handlers[type(event)]):
                        self._handle(run)
                        run = []
                if run:
                    self._handle(run)
        except Exception as error:
            for span in spans:
                tracing.end_rolled_back(span)
            logger.info(
                "batch of %d rolled back, applying its records one at a time: %s",
                len(messages),
                error,
                extra={"outcome": "batch_rolled_back"},
            )
            metrics.BATCHES.labels("rolled_back").inc()
            return None
        metrics.BATCHES.labels("committed").inc()
        metrics.BATCH_RECORDS.observe(len(messages))
        metrics.BATCH_SECONDS.observe(time.perf_counter() - started)
        self._applied_batch(messages, spans, fields, outcomes)
        return outcomes

    def _applied_batch(
        self,
        messages: list[Message],
        spans: list[Span],
        fields: list[dict[str, str]],
        outcomes: list[Outcome],
    ) -> None:
        """Count, log and end the spans of the records of a committed batch.

        Each record gets the line a record applied alone gets, naming its trace (the span was
        named when its handler ran), but with its fields given to it directly rather than
        through a context entered per record: at a line per record, the contexts cost more
        than the line.
        """
        self.consecutive_failures = 0
        counts: Counter[tuple[str, str]] = Counter()
        with written_together():
            for message, span, extra, outcome in zip(
                messages, spans, fields, outcomes, strict=True
            ):
                counts[message.topic(), outcome.value] += 1
                extra = extra | span_fields(span) | {"outcome": outcome.value}
                logger.info("record %s", outcome.value, extra=extra)
                tracing.end_with_outcome(span, outcome)
        for (topic, outcome_value), count in counts.items():
            metrics.RECORDS.labels(topic, outcome_value).inc(count)

    def _handle(self, run: list[_Record]) -> None:
        """Apply fresh records of one event type that stand next to each other in the batch,
        inside its transaction: the list handler once for all of them (each record's scope
        entered where the handler asks for it, see saga_runtime.handling), or the one-event
        handler for the only one."""
        started = time.perf_counter()
        for record in run:
            tracing.name_record(record.span, record.event)
        handler = self.handlers[type(run[0].event)]
        if takes_list_of(handler):
            scopes = {
                record.event.event_id: partial(self._record_scope, record.span, record.fields)
                for record in run
            }
            with handling.scopes(scopes):
                handler([record.event for record in run])
        else:
            [record] = run
            with self._record_scope(record.span, record.fields):
                handler(record.event)
        # A list's records share its time equally; they all came from one topic.
        share = (time.perf_counter() - started) / len(run)
        seconds = metrics.HANDLER_SECONDS.labels(run[0].message.topic())
        for _record in run:
            seconds.observe(share)

    @contextmanager
    def _record_scope(self, span: Span, fields: dict[str, str]) -> Iterator[None]:
        """The record's span current (what the handler queries and publishes joins its trace),
        and its log fields."""
        with (
            trace.use_span(span, end_on_exit=False),
            tracing.quiet_unless_recorded(span),
            log_context(**fields),
        ):
            yield

    def _mark_processed(self, events: list[Event], topics: list[str]) -> set:
        """Insert the processed-events rows of ``events`` (consumed from ``topics``) in one
        statement; return the event ids that were not there already (the others are
        duplicates).

        ON CONFLICT DO NOTHING waits for a concurrent insert of the same key to commit or roll
        back, so of two concurrent deliveries exactly one goes on to the handler.
        """
        keys = json.dumps(
            [[str(event.event_id), topic] for event, topic in zip(events, topics, strict=True)]
        )
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {ProcessedEvent._meta.db_table} (consumer, event_id, topic, "
                "processed_at) SELECT %s, (e->>0)::uuid, e->>1, now() "
                "FROM json_array_elements(%s::json) AS e "
                "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING event_id",
                [self.consumer_name, keys],
            )
            return {row[0] for row in cursor.fetchall()}

    @staticmethod
    def _record_fields(message: Message, event: Event) -> dict[str, str]:
        """The fields of every line logged about a record."""
        return {
            "topic": message.topic(),
            "partition": str(message.partition()),
            "offset": str(message.offset()),
            "orderNumber": str(event.order_number),
            "eventId": str(event.event_id),
        }

    # -- one record -------------------------------------------------------------------------

    def process(self, message: Message) -> Outcome | None:
        """Apply one record in a transaction of its own, retrying it alone; None when the worker
        was stopped before it could be applied."""
        metrics.RECORDS_CONSUMED.labels(message.topic()).inc()
        return self._process(message)

    def _process(self, message: Message) -> Outcome | None:
        topic = message.topic()
        with (
            tracing.consumer_span(message) as span,
            log_context(topic=topic, partition=message.partition(), offset=message.offset()),
        ):
            try:
                event = decode(self.event_classes[topic], message.value() or b"")
            except EventDecodeError as error:
                outcome = self._park(message, error)
                tracing.record_outcome(span, outcome)
                return outcome
            tracing.name_record(span, event)
            with (
                log_context(orderNumber=event.order_number, eventId=event.event_id),
                tracing.quiet_unless_recorded(span),
            ):
                outcome = self._apply_with_retries(message, event)
            tracing.record_outcome(span, outcome)
            return outcome

    def _apply_with_retries(self, message: Message, event: Event) -> Outcome | None:
        attempts = 0
        while True:
            attempts += 1
            try:
                outcome = self._apply(message, event)
            except InvalidEvent as error:
                return self._park(message, error)
            except Exception as error:
                transient = isinstance(error, TRANSIENT_ERRORS)
                self._count_failure(message, error, attempts=attempts, transient=transient)
                if not transient and attempts >= self.config.max_handler_attempts:
                    return self._park(message, error)
                if not self._backoff(attempts):
                    return None
                continue
            self._applied(message, outcome)
            return outcome

    def _applied(self, message: Message, outcome: Outcome) -> None:
        """Count and log a record whose transaction committed (handled or duplicate)."""
        self.consecutive_failures = 0
        metrics.RECORDS.labels(message.topic(), outcome.value).inc()
        logger.info("record %s", outcome.value, extra={"outcome": outcome.value})

    def _apply(self, message: Message, event: Event) -> Outcome:
        self._refresh_connection()
        started = time.perf_counter()
        with transaction.atomic():
            if not self._mark_processed([event], [message.topic()]):
                return Outcome.DUPLICATE
            handler = self.handlers[type(event)]
            if takes_list_of(handler):
                handler([event])
            else:
                handler(event)
        metrics.HANDLER_SECONDS.labels(message.topic()).observe(time.perf_counter() - started)
        return Outcome.HANDLED

    # -- failures ---------------------------------------------------------------------------

    def _count_failure(
        self, message: Message, error: Exception, *, attempts: int, transient: bool
    ) -> None:
        self.consecutive_failures += 1
        metrics.RECORDS.labels(message.topic(), "retried").inc()
        logger.warning(
            "record failed (attempt %d, %s): %s",
            attempts,
            "transient" if transient else "handler error",
            error,
            exc_info=not transient,
            extra={"outcome": "retried"},
        )
        if self.consecutive_failures >= self.config.max_consecutive_failures:
            raise WorkerGaveUp(
                f"{self.consecutive_failures} failed attempts in a row; last error: {error}"
            ) from error

    def _backoff(self, attempts: int) -> bool:
        """Sleep before the next attempt; False if the worker was asked to stop meanwhile."""
        delay = min(0.5 * 2 ** (attempts - 1), self.config.retry_backoff_max_seconds)
        stopped = self.stopping.wait(delay)
        self.last_progress = time.monotonic()  # retrying is progress, for the liveness probe
        return not stopped

    def _park(self, message: Message, error: Exception) -> Outcome | None:
        """Dead-letter the record, retrying while the broker does not take it; None if the
        worker was stopped first (the record stays uncommitted)."""
        attempts = 0
        while True:
            attempts += 1
            try:
                self._dead_letter(message, error)
            except KafkaException as failure:
                self._count_failure(message, failure, attempts=attempts, transient=True)
                if not self._backoff(attempts):
                    return None
                continue
            # Parking is progress: the failures in a row were this record's, and it is settled.
            self.consecutive_failures = 0
            return Outcome.DEAD_LETTERED

    def _dead_letter(self, message: Message, error: Exception) -> None:
        """Send the record, unchanged, to ``<topic>.DLT`` with headers saying why.

        Waits for the broker's acknowledgement: the offset must not be committed for a record
        that is neither applied nor parked.
        """
        headers = [
            *(message.headers() or []),
            ("dlt-original-topic", message.topic().encode()),
            ("dlt-original-partition", str(message.partition()).encode()),
            ("dlt-original-offset", str(message.offset()).encode()),
            ("dlt-consumer", self.consumer_name.encode()),
            ("dlt-error-class", type(error).__name__.encode()),
            ("dlt-error-message", str(error).encode()),
        ]
        produce_and_wait(
            self.producer,
            dead_letter_topic(message.topic()),
            key=message.key(),
            value=message.value(),
            headers=headers,
        )
        metrics.RECORDS.labels(message.topic(), Outcome.DEAD_LETTERED.value).inc()
        logger.error(
            "record dead-lettered: %s", error, extra={"outcome": Outcome.DEAD_LETTERED.value}
        )

    # -- consumer bookkeeping ---------------------------------------------------------------

    def _on_assign(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.assigned |= {(tp.topic, tp.partition) for tp in partitions}
        logger.info("partitions assigned", extra={"partitions": sorted(self.assigned)})

    def _on_revoke(self, _consumer: Consumer, partitions: list[TopicPartition]) -> None:
        revoked = {(tp.topic, tp.partition) for tp in partitions}
        self._commit_applied(revoked)  # before their new owner starts from the committed offset
        self.assigned -= revoked
        for tp in partitions:
            # Its new owner reports its lag; a stale value here would be counted twice.
            with suppress(KeyError):
                metrics.CONSUMER_LAG.remove(tp.topic, str(tp.partition))

    def _record_lag(self, message: Message) -> None:
        _low, high = self.consumer.get_watermark_offsets(
            TopicPartition(message.topic(), message.partition()), cached=True
        )
        if high >= 0:
            metrics.CONSUMER_LAG.labels(message.topic(), str(message.partition())).set(
                max(high - message.offset() - 1, 0)
            )

    def _log_consumer_error(self, error: KafkaError) -> None:
        # A fatal error reaches poll() as _FATAL without the fatal flag (a static member fenced
        # by another process with its instance id): the consumer is dead, so must the worker be,
        # rather than idle on and report ready.
        if error.fatal() or error.code() == KafkaError._FATAL:
            raise KafkaException(error)
        logger.warning("consumer error: %s", error)

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self.stop)
            signal.signal(signal.SIGINT, self.stop)
