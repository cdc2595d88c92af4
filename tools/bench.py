"""Saga benchmark: place orders through the HTTP API and measure throughput, latency and CPU.

Two ways to load the system:

- closed loop (default): ``-c`` clients, each placing an order and waiting for it to end
  before placing the next. Throughput is completed sagas per second of wall time; latency
  hides behind the clients' own queue, so use it for the maximum rate.
- open loop (``--rate R``): orders arrive at R per second on a fixed schedule, whether or not
  earlier ones have ended, as a shop's customers would. Latency runs from each order's
  *scheduled* arrival, so a stall shows up in the figures instead of slowing the load.

Each client places its order with ``POST /api/orders?wait=25``, which answers once the order
has ended (``--wait-with get``: places it, then long-polls ``GET /api/orders/{id}?wait=25``,
two requests per saga as a client that follows ``Location`` makes), over a connection each
client keeps open between requests (HTTP keep-alive); latency ends at the
order's terminal transition as the order service recorded it (its ``updatedAt``). The CPU
seconds each process of the system spent during the run (gunicorn, workers, PostgreSQL,
Kafka, Zipkin, and this load generator) are read from /proc and printed per completed saga.
Run against the system of ``tools/system.sh up``. A warm-up of ``--warmup`` orders (200),
placed the same way and waited for, comes first and is left out of every figure: a system just
started (a broker's JVM not yet compiled, connections and lazily loaded code not yet there) was
measured to add about 200 ms to the p99 of an open-loop run at 20/s through its first three
seconds alone.

    .infra/venv/bin/python tools/bench.py -n 5000 -c 32 --output bench-closed.json
    .infra/venv/bin/python tools/bench.py -n 1200 --rate 20 --output bench-open.json
"""

import argparse
import os
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

from figures import write_figures
from proc_cpu import CpuMeter, MachineMeter, system_processes
from saga_client import (
    TERMINAL,
    ApiError,
    Services,
    add_stock,
    infra_dir,
    place_order,
    wait_terminal,
)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


class Progress:
    def __init__(self, total: int) -> None:
        self.total, self.done, self.started = total, 0, time.monotonic()
        self.lock = threading.Lock()

    def tick(self) -> None:
        with self.lock:
            self.done += 1
            if self.done % max(1, self.total // 100) and self.done != self.total:
                return
            rate = self.done / (time.monotonic() - self.started)
            filled = 40 * self.done // self.total
            bar = "#" * filled + "." * (40 - filled)
            print(
                f"\r[{bar}] {self.done}/{self.total} {rate:7.1f} sagas/s", end="", file=sys.stderr
            )
            if self.done == self.total:
                print(file=sys.stderr)


def run_one(
    services: Services, sku: str, progress: Progress, arrival: float | None, wait_with: str
) -> dict:
    """Place one order and wait for its end; latency from ``arrival`` (default: now)."""
    sent = time.time() if arrival is None else arrival
    order = place_order(services, sku, "10.00", 1, wait=25 if wait_with == "post" else 0)
    final = order
    if order["status"] not in TERMINAL:
        final = wait_terminal(services, order["id"], timeout=300)
    finished = datetime.fromisoformat(final["updatedAt"]).timestamp()
    progress.tick()
    return {"status": final["status"], "latency": finished - sent, "finished": finished}


def closed_loop(args, services: Services, sku: str, progress: Progress) -> list[Future]:
    pool = ThreadPoolExecutor(max_workers=args.clients)
    with pool:
        return [
            pool.submit(run_one, services, sku, progress, None, args.wait_with)
            for _ in range(args.orders)
        ]


def open_loop(args, services: Services, sku: str, progress: Progress) -> list[Future]:
    """Submit order i at start + i / rate; enough threads that an arrival never waits."""
    pool = ThreadPoolExecutor(max_workers=args.max_in_flight)
    futures = []
    with pool:
        start = time.time() + 0.1
        for i in range(args.orders):
            arrival = start + i / args.rate
            if (delay := arrival - time.time()) > 0:
                time.sleep(delay)
            futures.append(pool.submit(run_one, services, sku, progress, arrival, args.wait_with))
    return futures


def system_settings(infra_dir: Path) -> dict[str, str]:
    """What ``tools/system.sh up`` started the services with (its run/settings.env)."""
    path = infra_dir / "run" / "settings.env"
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--orders", type=int, default=2000, help="Orders to place (2000).")
    parser.add_argument(
        "-c", "--clients", type=int, default=16, help="Closed loop: concurrent clients (16)."
    )
    parser.add_argument(
        "--rate",
        type=float,
        help="Open loop: orders per second, arriving on a fixed schedule (instead of -c).",
    )
    parser.add_argument(
        "--wait-with",
        choices=["post", "get"],
        default="post",
        help="How a client learns its order's end: post (default) places it with "
        "POST /api/orders?wait=25, one request per saga; get places it, then long-polls "
        "GET /api/orders/{id}?wait=25, two requests.",
    )
    parser.add_argument(
        "--max-in-flight",
        type=int,
        default=512,
        help="Open loop: most orders placed and not yet ended at once (512); an arrival beyond "
        "it waits, and its wait counts in its latency.",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=200,
        help="Orders placed first, the same way, and left out of the figures (200; 0: none).",
    )
    parser.add_argument("--output", default="bench-results.json", help="Where to write figures.")
    parser.add_argument("--label", default="", help="A note stored with the figures.")
    parser.add_argument(
        "--order-url",
        help=f"The order service ({Services.order}, moved by SAGA_PORT_OFFSET as system.sh does).",
    )
    parser.add_argument(
        "--inventory-url",
        help=f"The inventory service ({Services.inventory}, moved by SAGA_PORT_OFFSET likewise).",
    )
    parser.add_argument(
        "--infra-dir",
        type=Path,
        default=infra_dir(),
        help="Where tools/system.sh keeps its pid files, for the CPU figures (.infra).",
    )
    args = parser.parse_args()
    if args.orders < 1 or args.clients < 1 or (args.rate is not None and args.rate <= 0):
        parser.error("--orders, --clients and --rate must be positive")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    return args


def main() -> int:
    args = parse_args()
    given = {"order": args.order_url, "inventory": args.inventory_url}
    services = Services.local(**{name: url for name, url in given.items() if url})
    sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
    add_stock(services, sku, args.warmup + args.orders)
    run = closed_loop if args.rate is None else open_loop
    errors: list[str] = []
    if args.warmup:
        print(f"warm-up: {args.warmup} orders, left out of the figures", file=sys.stderr)
        warmup = argparse.Namespace(**vars(args) | {"orders": args.warmup})
        for future in run(warmup, services, sku, Progress(args.warmup)):
            try:
                future.result()
            except (ApiError, OSError) as error:
                errors.append(f"warm-up: {error}")
    progress = Progress(args.orders)
    processes = system_processes(args.infra_dir)
    cpu, machine = CpuMeter(processes), MachineMeter()
    own_cpu = sum(os.times()[:2])
    started = time.time()
    results: list[dict] = []
    for future in run(args, services, sku, progress):
        try:
            results.append(future.result())
        except (ApiError, OSError) as error:
            errors.append(str(error))
    wall = max((r["finished"] for r in results), default=time.time()) - started
    cpu_seconds = cpu.read() | {"load-generator": round(sum(os.times()[:2]) - own_cpu, 2)}
    machine_cpu = machine.read()
    latencies = [r["latency"] for r in results]
    statuses = {s: sum(r["status"] == s for r in results) for s in sorted(TERMINAL)}
    completed = len(results)
    figures = {
        "label": args.label,
        "mode": "closed loop" if args.rate is None else "open loop",
        "orders": args.orders,
        "warmup_orders": args.warmup,
        "clients": args.clients if args.rate is None else None,
        "rate": args.rate,
        "wait_with": args.wait_with,
        "completed": completed,
        "errors": len(errors),
        "statuses": statuses,
        "wall_seconds": round(wall, 3),
        "sagas_per_second": round(completed / wall, 2) if wall > 0 else None,
        "latency_seconds": {
            "p50": round(percentile(latencies, 0.50), 4),
            "p95": round(percentile(latencies, 0.95), 4),
            "p99": round(percentile(latencies, 0.99), 4),
            "max": round(max(latencies), 4),
            "mean": round(statistics.fmean(latencies), 4),
        }
        if latencies
        else None,
        "cpu_seconds": cpu_seconds,
        "cpu_ms_per_saga": {
            name: round(1000 * seconds / completed, 2) for name, seconds in cpu_seconds.items()
        }
        if completed
        else None,
        "cpu_ms_per_saga_total": round(
            1000 * sum(v for k, v in cpu_seconds.items() if k != "load-generator") / completed, 1
        )
        if completed
        else None,
        # The machine as a whole over the run: a high steal means other guests of the host
        # took CPU time, and the figures above came out slower for it.
        "machine_cpu": machine_cpu,
        "system_settings": system_settings(args.infra_dir),
    }
    write_figures(args.output, figures)
    for error in errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
