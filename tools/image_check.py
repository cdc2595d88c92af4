"""The image check: the four service images built from docker/Dockerfile and run hardened, as
the Helm chart runs them, against tools/infra.sh's PostgreSQL, Kafka and Zipkin.

    python tools/image_check.py        # or: tox -e images (.ci/run runs it)

Needs root on Debian 12, where it installs docker.io and debootstrap if missing. The Docker
engine is a private dockerd (its data root, exec root and socket under .infra/docker; the vfs
storage driver, no bridge and no iptables, so containers use the host's network), stopped at
the end whatever happens; its build cache stays for the next run. No image registry is needed:
the base image is a stand-in for python:3.11-slim built from Debian 12's packages (whose Python
is 3.11 too), cached as a tarball under .infra/images, named by a hash of its recipe.

With the images built: migrate, create_api_user and create_topics in one-shot containers; four
web and four worker containers (read-only root filesystem, an in-memory /tmp, no capabilities,
no new privileges, uid 10001, production settings, DJANGO_SECRET_KEY from the environment);
/health/ready on all eight ports; the admin's CSS; one order down each saga path to its
terminal status; no WARNING or ERROR line from any container; `docker stop` ending each one
with exit status 0, the workers within seconds. The run has databases, topics and consumer
groups of its own, removed afterwards. Ports: IMAGE_CHECK_WEB_PORT (18081) and
IMAGE_CHECK_WORKER_PORT (19081), plus 0 to 3 for order, inventory, payment and shipment.
"""

import hashlib
import inspect
import json
import os
import re
import secrets
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient

from saga_client import Services, add_stock, place_order, wait_terminal
from topology import SERVICES

ROOT = Path(__file__).resolve().parents[1]
INFRA = ROOT / ".infra"
ENGINE_DIR = INFRA / "docker"
STAND_IN_DIR = INFRA / "images"
LOG_DIR = INFRA / "image-check"

# Debian's client, from docker.io: it builds with BuildKit by itself, where the newer client
# this machine kind has on PATH wants the buildx plugin, which it lacks.
DOCKER = "/usr/bin/docker"
DOCKERD = "/usr/sbin/dockerd"

WEB_PORT = int(os.environ.get("IMAGE_CHECK_WEB_PORT", "18081"))
WORKER_PORT = int(os.environ.get("IMAGE_CHECK_WORKER_PORT", "19081"))
KAFKA = os.environ.get("KAFKA_BOOTSTRAP_SERVERS", "localhost:9092")
ZIPKIN_ENDPOINT = os.environ.get("ZIPKIN_ENDPOINT", "http://localhost:9411/api/v2/spans")
PGPORT = int(os.environ.get("PGPORT", "5432"))

#: (the path, price, quantity, terminal status); each order has a SKU of its own with 100 units.
SAGAS = [
    ("shipped", "12.50", 2, "SHIPPED"),
    ("more than in stock", "12.50", 101, "FAILED"),
    ("declined: over PAYMENT_DECLINE_ABOVE (5000.00)", "6000.00", 1, "PAYMENT_FAILED"),
    ("parcel over SHIPMENT_MAX_PARCEL_QUANTITY (50)", "1.00", 60, "SHIPMENT_FAILED"),
]
STOCK = 100

#: The Helm chart's container securityContext and in-memory /tmp volume
#: (helm/saga-service-lib/templates/_helpers.tpl) as `docker run` options.
HARDENED = [
    "--network=host",
    "--read-only",
    "--tmpfs=/tmp:rw,nosuid,nodev,size=64m",
    "--cap-drop=ALL",
    "--security-opt=no-new-privileges",
    "--user=10001:10001",
]
#: A worker must stop this fast: it finishes the record in hand and flushes its producer.
WORKER_STOP_SECONDS = 10
#: The container output that fails the check: a JSON log line above INFO, or any other line
#: naming a warning, an error or a traceback.
QUIET_LEVELS = {"DEBUG", "INFO"}
LOUD = re.compile(r"WARNING|ERROR|CRITICAL|Traceback|\w(Warning|Error)\b")

#: Shell lines a container of each image runs first: the image holds no tests, test settings or
#: build files, and neither the venv's Python nor the base image's has pip.
ONLY_WHAT_RUNS = r"""
extra=$(find /app \( -name tests -o -name pytest.ini -o -name requirements.txt \
    -o -name openapi.yaml -o -name 'Dockerfile*' -o -path '*/config/settings/test.py' \
    -o -path '*/config/settings/local.py' \) -print)
[ -z "$extra" ] || { echo "the image holds $extra"; exit 1; }
for python in python "$(python -c 'import sys; print(sys.base_prefix)')/bin/python3"; do
    if "$python" -c 'import pip' 2>/dev/null; then echo "$python has pip"; exit 1; fi
done
"""

STAND_IN = {
    "suite": "bookworm",
    "mirror": os.environ.get("DEBIAN_MIRROR", "http://deb.debian.org/debian"),
    # python3-venv brings Debian's own wheels of pip and setuptools.
    "packages": ["python3", "python3-venv", "python-is-python3", "ca-certificates"],
}
CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")
#: What a command in the stand-in's root sees, rather than this machine's PIP_* and the like.
CHROOT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}


class CheckFailed(Exception):
    pass


PHASES: list[tuple[str, float]] = []


@contextmanager
def phase(name: str) -> Iterator[None]:
    started = time.monotonic()
    print(f"::: {name}", file=sys.stderr, flush=True)
    try:
        yield
    finally:
        took = time.monotonic() - started
        PHASES.append((name, took))
        print(f"::: {name} took {took:.0f}s", file=sys.stderr, flush=True)


def run(command: list[str], log: Path, **options) -> None:
    """Run ``command`` with its output appended to ``log``; CheckFailed with the log's tail if
    it fails."""
    with log.open("a") as output:
        output.write(f"$ {' '.join(command)}\n")
        output.flush()
        result = subprocess.run(command, stdout=output, stderr=subprocess.STDOUT, **options)
    if result.returncode:
        tail = "\n".join(log.read_text().splitlines()[-40:])
        raise CheckFailed(f"{command[0]} exited {result.returncode} (log: {log}):\n{tail}")


# ------------------------------------------------------------------------- tools and engine


def install_packages() -> None:
    missing = [
        package
        for package, program in (("docker.io", DOCKERD), ("debootstrap", "/usr/sbin/debootstrap"))
        if not Path(program).exists()
    ]
    if not missing:
        return
    if os.geteuid() != 0:
        raise CheckFailed(f"the image check installs {' '.join(missing)}: run it as root")
    log = LOG_DIR / "apt.log"
    env = os.environ | {"DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], log, env=env)
    run(["apt-get", "install", "-y", "-q", "--no-install-recommends", *missing], log, env=env)


class Engine:
    """A dockerd of the check's own, and the client talking to it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.socket = directory / "docker.sock"
        self.pidfile = directory / "dockerd.pid"
        self.env = os.environ | {"DOCKER_HOST": f"unix://{self.socket}", "DOCKER_BUILDKIT": "1"}
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        if self.pidfile.exists():
            pid = int(self.pidfile.read_text() or 0)
            if pid and Path(f"/proc/{pid}").exists():
                raise CheckFailed(f"a dockerd (pid {pid}) runs on {self.directory} already")
        (self.directory / "data").mkdir(parents=True, exist_ok=True)
        (self.directory / "exec").mkdir(exist_ok=True)
        with (self.directory / "dockerd.log").open("w") as log:
            self.process = subprocess.Popen(
                [
                    DOCKERD,
                    f"--data-root={self.directory / 'data'}",
                    f"--exec-root={self.directory / 'exec'}",
                    f"--host=unix://{self.socket}",
                    f"--pidfile={self.pidfile}",
                    # No overlay filesystem inside this machine's sandbox, no network setup of
                    # the engine's own (containers use the host's network).
                    "--storage-driver=vfs",
                    "--iptables=false",
                    "--ip6tables=false",
                    "--bridge=none",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                # Away from the terminal's Ctrl-C: stop() ends it, after the containers.
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while self("version", check=False).returncode:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise CheckFailed(f"dockerd did not start: {self.directory / 'dockerd.log'}")
            time.sleep(0.5)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # dockerd leaves its network namespace mounted under the exec root.
        unmount_below(self.directory)

    def prune(self, used_since: float) -> None:
        """Keep the build cache this run used, for the next one, and nothing else: with vfs,
        every layer is a whole filesystem."""
        if self.process is None or self.process.poll() is not None:
            return
        # Containers an interrupted run left, then images no tag names any more.
        self("container", "prune", "--force", check=False)
        self("image", "prune", "--force", check=False)
        unused_for = int(time.monotonic() - used_since) + 60
        self("builder", "prune", "--force", f"--filter=until={unused_for}s", check=False)

    def __call__(self, *args: str, check: bool = True, **options) -> subprocess.CompletedProcess:
        """``docker ARGS``, its output captured as text unless ``options`` say otherwise."""
        options.setdefault("capture_output", "stdout" not in options)
        result = subprocess.run([DOCKER, *args], env=self.env, text=True, **options)
        if check and result.returncode:
            raise CheckFailed(
                f"docker {' '.join(args)} exited {result.returncode}: {result.stderr}"
            )
        return result


# ------------------------------------------------------------------------ the stand-in base


def unmount_below(directory: Path) -> None:
    """Unmount whatever is mounted inside ``directory`` (debootstrap leaves /proc mounted)."""
    prefix = f"{directory}/"
    with open("/proc/self/mounts") as mounts:
        points = [line.split()[1] for line in mounts]
    for point in sorted((p for p in points if p.startswith(prefix)), key=len, reverse=True):
        subprocess.run(["umount", "--lazy", point], check=True)


def stand_in_rootfs(rootfs: Path, log: Path) -> None:
    """The root filesystem of a python:3.11-slim look-alike from Debian 12's packages: python
    and pip on PATH, pip installed in /usr/local from Debian's own wheel, as the official image
    has it (there, and not as a Debian package, `pip uninstall` removes it), no
    EXTERNALLY-MANAGED marker (the official image has none), no documentation or apt lists."""
    packages = ",".join(STAND_IN["packages"])
    debootstrap = ["debootstrap", "--variant=minbase", f"--include={packages}"]
    run([*debootstrap, STAND_IN["suite"], str(rootfs), STAND_IN["mirror"]], log)
    unmount_below(rootfs)
    (rootfs / "usr/lib/python3.11/EXTERNALLY-MANAGED").unlink()
    wheels = sorted(
        f"/usr/share/python-wheels/{w.name}"
        for w in (rootfs / "usr/share/python-wheels").glob("*.whl")
    )
    pip_wheel = next(w for w in wheels if Path(w).name.startswith("pip-"))
    pip = ["python3", f"{pip_wheel}/pip", "install", "--no-index", "--root-user-action=ignore"]
    run(["chroot", str(rootfs), *pip, *wheels], log, env=CHROOT_ENV)
    # The machine's CA certificates: pip reaches the package index through this machine's
    # network, whose TLS may be intercepted by a CA of its own.
    shutil.copyfile(CA_BUNDLE, rootfs / CA_BUNDLE.relative_to("/"))
    for directory in (
        "var/cache/apt",
        "var/lib/apt/lists",
        "usr/share/doc",
        "usr/share/man",
        "usr/share/info",
        "usr/share/locale",
        "root/.cache",
    ):
        for entry in (rootfs / directory).glob("*"):
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()


def stand_in_base(engine: Engine) -> str:
    """The stand-in's image (imported from its cached tarball, built first if need be)."""
    recipe = json.dumps(STAND_IN, sort_keys=True) + inspect.getsource(stand_in_rootfs)
    key = hashlib.sha256(recipe.encode() + CA_BUNDLE.read_bytes()).hexdigest()[:16]
    tag = f"saga/python-stand-in:{key}"
    tarball = STAND_IN_DIR / f"python-stand-in-{key}.tar"
    if not tarball.exists():
        with phase("stand-in base: debootstrap (cached for the next runs)"):
            STAND_IN_DIR.mkdir(parents=True, exist_ok=True)
            for stale in STAND_IN_DIR.glob("python-stand-in-*.tar"):
                stale.unlink()
            rootfs = Path(tempfile.mkdtemp(prefix="rootfs-", dir=STAND_IN_DIR))
            rootfs.chmod(0o755)  # the image's / (mkdtemp makes it 0700)
            try:
                stand_in_rootfs(rootfs, LOG_DIR / "stand-in.log")
                partial = tarball.with_suffix(".partial")
                run(
                    ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
                    LOG_DIR / "stand-in.log",
                )
                partial.rename(tarball)
            finally:
                unmount_below(rootfs)
                subprocess.run(["rm", "-rf", "--one-file-system", str(rootfs)], check=True)
    if engine("image", "inspect", tag, check=False).returncode:
        with phase("stand-in base: docker import"):
            changes = ["ENV PATH=" + CHROOT_ENV["PATH"], "ENV LANG=C.UTF-8", 'CMD ["python3"]']
            engine("import", *(f"--change={c}" for c in changes), str(tarball), tag)
    listed = engine("image", "ls", "--format={{.Repository}}:{{.Tag}}", "saga/python-stand-in")
    if stale := [t for t in listed.stdout.split() if t != tag]:
        engine("image", "rm", *stale)
    return tag


# --------------------------------------------------------------------------------- the check


def image(service: str) -> str:
    return f"saga/{service}-service:image-check"


def build(engine: Engine, base: str, service: str) -> None:
    ports = SERVICES[service]
    args = {
        "BASE_IMAGE": base,
        "SERVICE": service,
        "PORT": ports.web_port,
        "WORKER_PORT": ports.worker_port,
    }
    command = [DOCKER, "build", "--progress=plain", "--file=docker/Dockerfile"]
    command += [f"--build-arg={name}={value}" for name, value in args.items()]
    # The engine has no bridge: the build's RUN steps use the host's network, as containers do.
    command += ["--network=host", f"--tag={image(service)}", "."]
    run(command, LOG_DIR / f"build-{service}.log", cwd=ROOT, env=engine.env)


def loud_lines(output: str) -> list[str]:
    found = []
    for line in output.splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if isinstance(record, dict) and "level" in record:
            if record["level"] not in QUIET_LEVELS:
                found.append(line)
        elif LOUD.search(line):
            found.append(line)
    return found


def port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def get(url: str) -> tuple[int, str, bytes]:
    """The status, content type and body of a GET; status 0 if nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, answer.headers.get("Content-Type", ""), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, "", b""
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, "", b""


class System:
    """The four services' containers, on databases, topics and consumer groups of this run."""

    def __init__(self, engine: Engine, run_id: str) -> None:
        self.engine = engine
        self.run_id = run_id
        self.prefix = f"images-{run_id}-"
        self.ports = {
            service: (WEB_PORT + index, WORKER_PORT + index)
            for index, service in enumerate(SERVICES)
        }
        self.containers: dict[str, str] = {}  # name -> service
        self.databases: list[str] = []
        self.tokens = {"customer": secrets.token_hex(20), "staff": secrets.token_hex(20)}
        self.loud: dict[str, list[str]] = {}

    def database(self, service: str) -> str:
        return f"images_{self.run_id}_{service}"

    def admin(self, service: str, sql: str) -> None:
        """SQL as the service's role of tools/infra.sh (password = name, CREATEDB)."""
        with psycopg.connect(
            host="127.0.0.1",
            port=PGPORT,
            user=service,
            password=service,
            dbname="postgres",
            autocommit=True,
        ) as connection:
            connection.execute(sql)

    def env(self, service: str) -> list[str]:
        web_port, worker_port = self.ports[service]
        settings = {
            "DATABASE_URL": f"postgres://{service}:{service}@127.0.0.1:{PGPORT}/{self.database(service)}",
            "KAFKA_BOOTSTRAP_SERVERS": KAFKA,
            "SAGA_TOPIC_PREFIX": self.prefix,
            "SAGA_CONSUMER_GROUP": f"{self.prefix}{service}",
            "PORT": str(web_port),
            "SAGA_WORKER_PORT": str(worker_port),
            "TRACING_ENABLED": "true",
            "ZIPKIN_ENDPOINT": ZIPKIN_ENDPOINT,
        }
        # The key by name only: docker copies it from its own environment (Engine.env), so it
        # never shows on a command line.
        return ["--env=DJANGO_SECRET_KEY", *(f"--env={k}={v}" for k, v in settings.items())]

    def prepare(self) -> None:
        """Per service a database, its migrations and the run's two API users, then the topics:
        the jobs the Helm chart runs as hooks, as one-shot containers. One container per service,
        its commands chained: each container costs a copy of the image's whole filesystem
        (vfs), ten to fifteen seconds here."""
        for service in SERVICES:
            self.admin(service, f'CREATE DATABASE "{self.database(service)}"')
            self.databases.append(service)
            commands = [["migrate", "--noinput"]]
            commands += [
                ["create_api_user", f"image-check-{role}", "--token", token]
                + (["--staff"] if role == "staff" else [])
                for role, token in self.tokens.items()
            ]
            if service == "order":
                commands.append(["create_topics"])
            jobs = " && ".join(shlex.join(["python", "manage.py", *c]) for c in commands)
            script = f"{ONLY_WHAT_RUNS}\n{jobs}"
            result = self.engine(
                "run",
                "--rm",
                *HARDENED,
                *self.env(service),
                image(service),
                "sh",
                "-c",
                script,
                check=False,
                stderr=subprocess.STDOUT,
                stdout=subprocess.PIPE,
            )
            (LOG_DIR / f"{service}-jobs.log").write_text(result.stdout)
            if result.returncode:
                raise CheckFailed(f"{service}: {jobs} exited {result.returncode}:\n{result.stdout}")
            if loud := loud_lines(result.stdout):
                self.loud[f"{service} jobs"] = loud

    def start(self) -> None:
        for service in SERVICES:
            for role, command in (("web", []), ("worker", ["python", "manage.py", "consume_saga"])):
                name = f"image-check-{self.run_id}-{service}-{role}"
                self.engine(
                    "run",
                    "--detach",
                    f"--name={name}",
                    *HARDENED,
                    *self.env(service),
                    image(service),
                    *command,
                )
                self.containers[name] = service

    def wait_ready(self, timeout: float = 240) -> None:
        waiting = {
            f"http://127.0.0.1:{port}/health/ready"
            for web_port, worker_port in self.ports.values()
            for port in (web_port, worker_port)
        }
        deadline = time.monotonic() + timeout
        while waiting:
            waiting = {url for url in waiting if get(url)[0] != 200}
            exited = [name for name in self.containers if not self.running(name)]
            if exited or (waiting and time.monotonic() > deadline):
                logs = "\n".join(f"--- {n}\n{self.logs(n)[-2000:]}" for n in exited)
                raise CheckFailed(f"not ready: {sorted(waiting)}; exited: {exited}\n{logs}")
            time.sleep(0.5)

    def running(self, name: str) -> bool:
        state = self.engine("inspect", "--format={{.State.Running}}", name).stdout.strip()
        return state == "true"

    def logs(self, name: str) -> str:
        return self.engine("logs", name, stderr=subprocess.STDOUT, stdout=subprocess.PIPE).stdout

    def check_static(self) -> None:
        for web_port, _ in self.ports.values():
            url = f"http://127.0.0.1:{web_port}/static/admin/css/base.css"
            status, content_type, body = get(url)
            if status != 200 or not content_type.startswith("text/css") or b"body" not in body:
                raise CheckFailed(f"{url}: {status} {content_type}, {len(body)} bytes")

    def sagas(self) -> list[str]:
        services = Services(
            **{s: f"http://127.0.0.1:{web_port}" for s, (web_port, _) in self.ports.items()},
            token=self.tokens["customer"],
            staff_token=self.tokens["staff"],
        )
        placed = []
        for index, (path, price, quantity, expected) in enumerate(SAGAS):
            sku = f"IMAGE-CHECK-{self.run_id}-{index}"
            add_stock(services, sku, STOCK)
            placed.append((path, expected, place_order(services, sku, price, quantity)["id"]))
        report = []
        for path, expected, order_id in placed:
            status = wait_terminal(services, order_id, timeout=120)["status"]
            if status != expected:
                raise CheckFailed(f"order {order_id} ({path}) ended {status}, not {expected}")
            report.append(f"{expected:16} {path}")
        return report

    def stop(self) -> list[str]:
        """Stop each container, keep its output, and report how each one ended."""
        report, failures = [], []
        for name in self.containers:
            started = time.monotonic()
            result = self.engine("stop", "--time=30", name, check=False)
            took = time.monotonic() - started
            exit_code = self.engine("inspect", "--format={{.State.ExitCode}}", name).stdout.strip()
            output = self.logs(name)
            (LOG_DIR / f"{name.removeprefix(f'image-check-{self.run_id}-')}.log").write_text(output)
            if loud := loud_lines(output):
                self.loud[name] = loud
            report.append(f"{name}: docker stop {result.returncode}, exit {exit_code}, {took:.1f}s")
            slow = name.endswith("-worker") and took > WORKER_STOP_SECONDS
            if result.returncode or exit_code != "0" or slow:
                failures.append(report[-1])
        if failures:
            raise CheckFailed("containers did not stop cleanly:\n" + "\n".join(failures))
        return report

    def remove(self) -> None:
        """Everything of this run, whatever state it is in; what cannot go is reported, so that
        the cleanup never hides the failure that led to it."""
        if self.containers:
            self.engine("rm", "--force", *self.containers, check=False)
        for service in self.databases:
            try:
                self.admin(
                    service, f'DROP DATABASE IF EXISTS "{self.database(service)}" WITH (FORCE)'
                )
            except psycopg.Error as error:
                warn(f"could not drop database {self.database(service)}: {error}")
        try:
            # log_level 4: no informational lines of librdkafka's own on the check's output.
            kafka = AdminClient({"bootstrap.servers": KAFKA, "log_level": 4})
            topics = [t for t in kafka.list_topics(timeout=10).topics if t.startswith(self.prefix)]
            futures = kafka.delete_topics(topics) if topics else {}
            futures |= kafka.delete_consumer_groups([f"{self.prefix}{s}" for s in SERVICES])
            for name, future in futures.items():
                try:
                    future.result(timeout=30)
                except KafkaException as error:
                    # A group that never committed an offset was never made.
                    if error.args[0].code() != KafkaError.GROUP_ID_NOT_FOUND:
                        warn(f"could not delete {name}: {error}")
        except KafkaException as error:
            warn(f"could not delete the run's topics and consumer groups: {error}")


def warn(message: str) -> None:
    print(f"image check: {message}", file=sys.stderr)


def main() -> int:
    started = time.monotonic()
    shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True)
    taken = [
        port
        for index in range(len(SERVICES))
        for port in (WEB_PORT + index, WORKER_PORT + index)
        if not port_free(port)
    ]
    if taken:
        raise CheckFailed(
            f"ports {taken} are in use: choose others with IMAGE_CHECK_WEB_PORT and "
            "IMAGE_CHECK_WORKER_PORT"
        )
    os.environ["DJANGO_SECRET_KEY"] = os.environ.get("DJANGO_SECRET_KEY") or secrets.token_urlsafe(
        64
    )
    # A SIGTERM (a CI timeout, say) unwinds like Ctrl-C, through the cleanup below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with phase("install docker.io, debootstrap"):
        install_packages()
    engine = Engine(ENGINE_DIR)
    system = System(engine, secrets.token_hex(4))
    try:
        with phase("private dockerd start"):
            engine.start()
        base = stand_in_base(engine)
        for service in SERVICES:
            with phase(f"build {image(service)}"):
                build(engine, base, service)
        sizes = {}
        for service in SERVICES:
            size, user = engine(
                "image", "inspect", "--format={{.Size}} {{.Config.User}}", image(service)
            ).stdout.split()
            if user != "10001:10001":
                raise CheckFailed(f"{image(service)} runs as {user!r}, not 10001:10001")
            sizes[service] = int(size)
        with phase("databases, migrate, API users, topics (one-shot containers)"):
            system.prepare()
        with phase("start 4 web + 4 worker containers, /health/ready on all 8 ports"):
            system.start()
            system.wait_ready()
        with phase("admin CSS, one order down each saga path"):
            system.check_static()
            sagas = system.sagas()
        with phase("docker stop each container"):
            stops = system.stop()
        if system.loud:
            lines = [f"{name}:\n  " + "\n  ".join(lines) for name, lines in system.loud.items()]
            raise CheckFailed("warnings or errors in the containers' output:\n" + "\n".join(lines))
    finally:
        try:
            with phase("remove the containers, databases, topics and groups"):
                system.remove()
            with phase("prune images and build cache this run did not use"):
                engine.prune(used_since=started)
        finally:
            with phase("stop dockerd"):
                engine.stop()
    print("\nimage check passed", file=sys.stderr)
    for service, size in sizes.items():
        print(f"  {image(service)}: {size / 1e6:.0f} MB", file=sys.stderr)
    for line in sagas + stops:
        print(f"  {line}", file=sys.stderr)
    for name, took in PHASES:
        print(f"  {took:6.0f}s  {name}", file=sys.stderr)
    print(f"  logs in {LOG_DIR}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except CheckFailed as failure:
        print(f"image check FAILED: {failure}", file=sys.stderr)
        sys.exit(1)
