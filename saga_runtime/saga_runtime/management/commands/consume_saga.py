from django.core.management.base import BaseCommand, CommandError

from saga_runtime.conf import get_config
from saga_runtime.health import WorkerHealthServer
from saga_runtime.worker import SagaWorker, WorkerGaveUp, load_handlers


class Command(BaseCommand):
    help = (
        "Run this service's saga worker: consume its topics, apply each event once, publish the "
        "outbox. Stops cleanly on SIGTERM or Ctrl-C. Example: python manage.py consume_saga"
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--group", help="Consumer group id (default: SAGA_CONSUMER_GROUP, <service>-service)."
        )
        parser.add_argument(
            "--instance-id",
            help="Static membership id of this worker in its consumer group (default: "
            "SAGA_GROUP_INSTANCE_ID; unset: dynamic membership). Unique per worker and the same "
            "after each restart: a worker killed and restarted under it gets its partitions back "
            "at once; a worker stopped for good keeps them until the session timeout (10 s).",
        )
        parser.add_argument(
            "--no-relay",
            action="store_true",
            help="Do not publish the outbox from this process (another process does).",
        )
        parser.add_argument(
            "--port",
            type=int,
            help="Port of the worker's /metrics and /health endpoints (default: SAGA_WORKER_PORT; "
            "0 turns them off).",
        )

    def handle(
        self,
        *args,
        group: str | None,
        instance_id: str | None,
        no_relay: bool,
        port: int | None,
        **options,
    ):
        config = get_config()
        try:
            handlers = load_handlers(config.handlers_path)
        except (ImportError, TypeError) as error:
            raise CommandError(
                f"Cannot load the handlers at {config.handlers_path}: {error}"
            ) from error
        worker = SagaWorker(handlers, config=config, group=group, instance_id=instance_id)
        port = config.worker_port if port is None else port
        health = WorkerHealthServer(worker, port=port) if port else None
        try:
            worker.run(relay=not no_relay)
        except WorkerGaveUp as error:
            raise CommandError(f"Worker gave up: {error}") from error
        finally:
            if health is not None:
                health.close()
