"""A small HTTP client of the four services' APIs, for the demo, the benchmark and the tests
(stdlib only)."""

import http.client
import json
import os
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from topology import SERVICES

T = TypeVar("T")

TERMINAL = {"SHIPPED", "FAILED", "PAYMENT_FAILED", "SHIPMENT_FAILED"}


@dataclass(frozen=True)
class Services:
    """The services' base URLs and the API tokens to use: ``token`` a customer's (places and
    reads orders), ``staff_token`` a staff user's (adds stock, reads payments and shipments)."""

    order: str = f"http://127.0.0.1:{SERVICES['order'].web_port}"
    inventory: str = f"http://127.0.0.1:{SERVICES['inventory'].web_port}"
    payment: str = f"http://127.0.0.1:{SERVICES['payment'].web_port}"
    shipment: str = f"http://127.0.0.1:{SERVICES['shipment'].web_port}"
    token: str = ""
    staff_token: str = ""

    @classmethod
    def local(cls, **urls: str) -> "Services":
        """The system ``tools/system.sh`` runs: its ports, moved by SAGA_PORT_OFFSET as there,
        for the services not given in ``urls``; and the tokens of its users from
        SAGA_TOKENS_FILE (default: .infra/api-tokens.json, under SAGA_INFRA_DIR if set), or
        SAGA_API_TOKEN and SAGA_STAFF_TOKEN from the environment."""
        offset = int(os.environ.get("SAGA_PORT_OFFSET") or 0)
        for name, service in SERVICES.items():
            urls.setdefault(name, f"http://127.0.0.1:{service.web_port + offset}")
        saved = json.loads(tokens.read_text()) if (tokens := tokens_file()).exists() else {}
        return cls(
            **urls,
            token=os.environ.get("SAGA_API_TOKEN", saved.get("demo", "")),
            staff_token=os.environ.get("SAGA_STAFF_TOKEN", saved.get("admin", "")),
        )


def infra_dir() -> Path:
    """Where ``tools/infra.sh`` and ``tools/system.sh`` keep everything: SAGA_INFRA_DIR, as
    they read it (unset or empty: the repository's ``.infra``)."""
    given = os.environ.get("SAGA_INFRA_DIR")
    return Path(given).resolve() if given else Path(__file__).resolve().parents[1] / ".infra"


def tokens_file() -> Path:
    """Where ``tools/system.sh`` wrote its users' API tokens."""
    if given := os.environ.get("SAGA_TOKENS_FILE"):
        return Path(given)
    return infra_dir() / "api-tokens.json"


class ApiError(RuntimeError):
    pass


# One connection per thread and server, kept open between requests (HTTP/1.1 keep-alive) as
# browsers and HTTP libraries do: a new connection per request cost the order service's gunicorn
# about a tenth of its CPU in accepting and closing them (docs/decisions/0019).
_connections = threading.local()


def _connection(netloc: str, timeout: float) -> tuple[http.client.HTTPConnection, bool]:
    """The open connection to ``netloc`` of this thread, or a new one; and whether it was open."""
    pool: dict[str, http.client.HTTPConnection] = _connections.__dict__.setdefault("pool", {})
    connection = pool.get(netloc)
    reused = connection is not None
    if connection is None:
        connection = pool[netloc] = http.client.HTTPConnection(netloc, timeout=timeout)
    connection.timeout = timeout
    if connection.sock is not None:
        connection.sock.settimeout(timeout)
    return connection, reused


def _forget(netloc: str) -> None:
    connection = _connections.__dict__.get("pool", {}).pop(netloc, None)
    if connection is not None:
        connection.close()


def call(
    method: str, url: str, body: dict | None = None, timeout: float = 10, *, token: str = ""
) -> tuple[int, dict]:
    """(status, JSON body) of one request. A kept-open connection the server closed meanwhile
    (it closes idle ones after a few seconds, or it restarted) is replaced and the request sent
    again once: the server read none of it."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    parts = urllib.parse.urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    while True:
        connection, reused = _connection(parts.netloc, timeout)
        try:
            connection.request(method, target, body=data, headers=headers)
            response = connection.getresponse()
            payload = response.read()
        except (ConnectionResetError, BrokenPipeError, http.client.BadStatusLine):
            # RemoteDisconnected is both a ConnectionResetError and a BadStatusLine.
            _forget(parts.netloc)
            if reused:
                continue
            raise
        except BaseException:
            _forget(parts.netloc)
            raise
        if response.will_close:
            _forget(parts.netloc)
        return response.status, json.loads(payload or b"{}")


def add_stock(services: Services, sku: str, quantity: int) -> dict:
    status, body = call(
        "POST",
        f"{services.inventory}/api/inventories",
        {"skuCode": sku, "quantity": quantity},
        token=services.staff_token,
    )
    if status not in (200, 201):
        raise ApiError(f"adding stock answered {status}: {body}")
    return body


def place_order(
    services: Services, sku: str, price: str, quantity: int, *, wait: float = 0
) -> dict:
    """The placed order; with ``wait``, as it is once it has ended or after ``wait`` seconds."""
    query = f"?wait={wait}" if wait else ""
    status, body = call(
        "POST",
        f"{services.order}/api/orders{query}",
        {"skuCode": sku, "price": price, "quantity": quantity},
        timeout=wait + 10,
        token=services.token,
    )
    if status != 201:
        raise ApiError(f"placing an order answered {status}: {body}")
    return body


def get_order(services: Services, order_id: int, *, wait: float = 0) -> dict:
    """The order; with ``wait``, once it has ended or after ``wait`` seconds (a long poll)."""
    query = f"?wait={wait}" if wait else ""
    url = f"{services.order}/api/orders/{order_id}{query}"
    return call("GET", url, timeout=wait + 10, token=services.token)[1]


def stock_of(services: Services, sku: str) -> dict:
    return call("GET", f"{services.inventory}/api/inventories/{sku}", token=services.token)[1]


def payments_of(services: Services, order_id: int) -> list[dict]:
    url = f"{services.payment}/api/payments?orderId={order_id}"
    return call("GET", url, token=services.staff_token)[1]["results"]


def shipments_of(services: Services, order_id: int) -> list[dict]:
    url = f"{services.shipment}/api/shipments?orderId={order_id}"
    return call("GET", url, token=services.staff_token)[1]["results"]


def poll(
    condition: Callable[[], T], *, timeout: float = 30, message: str = "", interval: float = 0.05
) -> T:
    """Call ``condition`` until it returns something truthy and return that; ApiError at the
    deadline."""
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise ApiError(f"timed out after {timeout}s waiting for {message or condition}")
        time.sleep(interval)
    return result


def wait_terminal(
    services: Services, order_id: int, timeout: float = 60, interval: float = 0.05
) -> dict:
    """The order once it has reached a terminal status.

    Each request long-polls (``?wait=``), so the server answers as soon as the order ends;
    ``interval`` only spaces the requests should the server answer early without an end.
    """

    def terminal() -> dict | None:
        order = get_order(services, order_id, wait=min(timeout, 25))
        return order if order.get("status") in TERMINAL else None

    return poll(terminal, timeout=timeout, message=f"order {order_id} to end", interval=interval)
