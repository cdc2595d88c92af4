"""Saga benchmark: place N orders through the HTTP API with C concurrent clients and measure.

Each client places an order and waits for it to end before placing the next (a closed loop).
Latency runs from the client sending POST /api/orders to the order's terminal transition as
the order service recorded it (its ``updatedAt``), so the polling rate does not blur it (the
client learns of the end up to one poll interval later, which delays its next order only).
Throughput is completed sagas per second of wall time. Run against the system of
``tools/system.sh up``:

    .infra/venv/bin/python tools/bench.py -n 2000 -c 16 --output bench-results.json
"""

import argparse
import json
import os
import platform
import statistics
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

from saga_client import TERMINAL, ApiError, Services, add_stock, place_order, wait_terminal


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


def run_one(services: Services, sku: str, progress: Progress, interval: float) -> dict:
    sent = time.time()
    order = place_order(services, sku, "10.00", 1)
    final = wait_terminal(services, order["id"], timeout=120, interval=interval)
    finished = datetime.fromisoformat(final["updatedAt"]).timestamp()
    progress.tick()
    return {"status": final["status"], "latency": finished - sent, "finished": finished}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--orders", type=int, default=2000, help="Orders to place (2000).")
    parser.add_argument("-c", "--clients", type=int, default=16, help="Concurrent clients (16).")
    parser.add_argument("--output", default="bench-results.json", help="Where to write figures.")
    parser.add_argument("--label", default="", help="A note stored with the figures.")
    parser.add_argument(
        "--order-url", default=Services.order, help=f"The order service ({Services.order})."
    )
    parser.add_argument(
        "--inventory-url",
        default=Services.inventory,
        help=f"The inventory service ({Services.inventory}).",
    )
    parser.add_argument(
        "--poll-interval",
        type=float,
        default=0.25,
        help="Seconds between a client's status checks (0.25). Latency does not depend on it: "
        "it ends at the order's recorded terminal transition. Polling faster loads the order "
        "service with reads that compete with the saga.",
    )
    args = parser.parse_args()

    services = Services(order=args.order_url, inventory=args.inventory_url)
    sku = f"BENCH-{uuid.uuid4().hex[:8].upper()}"
    add_stock(services, sku, args.orders)
    progress = Progress(args.orders)
    started = time.time()
    errors: list[str] = []
    results: list[dict] = []
    with ThreadPoolExecutor(max_workers=args.clients) as pool:
        futures = [
            pool.submit(run_one, services, sku, progress, args.poll_interval)
            for _ in range(args.orders)
        ]
        for future in futures:
            try:
                results.append(future.result())
            except (ApiError, OSError) as error:
                errors.append(str(error))
    wall = max((r["finished"] for r in results), default=time.time()) - started
    latencies = [r["latency"] for r in results]
    statuses = {s: sum(r["status"] == s for r in results) for s in sorted(TERMINAL)}
    figures = {
        "label": args.label,
        "orders": args.orders,
        "clients": args.clients,
        "completed": len(results),
        "errors": len(errors),
        "statuses": statuses,
        "wall_seconds": round(wall, 3),
        "sagas_per_second": round(len(results) / wall, 2) if wall > 0 else None,
        "latency_seconds": {
            "p50": round(percentile(latencies, 0.50), 4),
            "p95": round(percentile(latencies, 0.95), 4),
            "p99": round(percentile(latencies, 0.99), 4),
            "max": round(max(latencies), 4),
            "mean": round(statistics.fmean(latencies), 4),
        }
        if latencies
        else None,
        "tracing_enabled": os.environ.get("TRACING_ENABLED", "true"),
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
        },
        "when": datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    with open(args.output, "w") as output:
        json.dump(figures, output, indent=2)
    print(json.dumps(figures, indent=2))
    for error in errors[:5]:
        print(f"error: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
