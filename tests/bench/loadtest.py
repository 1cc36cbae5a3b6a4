"""A bounded load test on loopback: gunicorn serving the benchmark's database, N clients for T seconds.

Each client signs in as its own grid member (the generated accounts share config.load.LOAD_PASSWORD)
and loops, until the time is up: report an event through the real form (CSRF token, a fresh
idempotency key; every 10th report is sent a second time with the same key, as a phone retrying
would), then read "my tasks" and "my region's events". Every response is timed; a report counts
as acknowledged when the server redirects to the new event's page.

Afterwards the database is asked: every acknowledged key has exactly one event, no key has two,
and no event exists that was never acknowledged (a post that failed must leave nothing behind).

Only 127.0.0.1 is ever contacted; the run stops by itself (time limit, and a timeout per request).
"""

from __future__ import annotations

import collections
import http.client
import os
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path

if __package__:  # imported as tests.bench.loadtest
    from . import harness
else:  # imported by a benchmark run as a script
    import harness

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REQUEST_TIMEOUT = 60
SETUP_TIMEOUT = 300
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
OPTION = re.compile(r'<option value="(\d+)"')


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


class Server:
    """gunicorn on a free loopback port, on the benchmark's database and Redis, stopped on exit."""

    def __init__(self, database_url: str, workers: int = 3, threads: int = 4, extra_env: dict | None = None):
        self.port = free_port()
        self.log = ROOT / "var" / "bench" / f"gunicorn-{os.getpid()}.log"
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if k not in ("TESTING", "DJANGO_SETTINGS_MODULE")}
        env.update({
            "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": "bench-" + uuid.uuid4().hex,
            "ALLOWED_HOSTS": HOST, "SESSION_COOKIE_SECURE": "0", "CSRF_COOKIE_SECURE": "0",
            "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0", "AXES_ENABLED": "0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
        })
        env.update(extra_env or {})
        env.pop("EMAIL_URL", None)  # console mail: no mail leaves the machine
        self.command = [
            str(Path(sys.executable).with_name("gunicorn")), "config.wsgi", "--bind", f"{HOST}:{self.port}",
            "--workers", str(workers), "--threads", str(threads), "--worker-class", "gthread",
            "--timeout", "120", "--keep-alive", os.environ.get("BENCH_KEEPALIVE", "120"), "--log-level", "warning",
        ]
        self.env = env
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self._log_file = open(self.log, "w")  # noqa: SIM115 - closed in __exit__
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self._log_file,
                                        stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=5)
                conn.request("GET", "/healthz")  # any answer will do (503 while no Celery worker beats)
                conn.getresponse().read()
                return self
            except OSError:
                time.sleep(0.3)
        self.__exit__(None, None, None)
        raise RuntimeError(f"gunicorn did not answer on {HOST}:{self.port}; see {self.log}")

    def __exit__(self, *exc):
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log_file.close()


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    acknowledged: dict[str, int] = field(default_factory=dict)  # idempotency key → event id
    retried_same: int = 0
    retried_other: int = 0
    elapsed: float = 0.0
    prefix: str = field(default_factory=lambda: f"lt-{uuid.uuid4().hex[:8]}-")  # this run's idempotency keys
    phases: int = 0  # run_clients calls so far on this tally: a later phase's keys differ from an earlier one's
    machine: collections.Counter = field(default_factory=collections.Counter)  # CPU s by program, timed phases
    lock: threading.Lock = field(default_factory=threading.Lock)

    def time(self, kind: str, ms: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(ms)

    def error(self, message: str) -> None:
        with self.lock:
            if len(self.errors) < 200:
                self.errors.append(message)


class Client:
    """One signed-in browser-like client with its own cookies and keep-alive connection."""

    def __init__(self, port: int, tally: Tally, tls: bool = False):
        self.port, self.tally, self.tls = port, tally, tls
        self.cookies: dict[str, str] = {}
        self.conn = self.connect()

    def connect(self) -> http.client.HTTPConnection:
        if self.tls:  # through the deployment's nginx on loopback, with its self-signed certificate
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            return http.client.HTTPSConnection(HOST, self.port, timeout=REQUEST_TIMEOUT, context=context)
        return http.client.HTTPConnection(HOST, self.port, timeout=REQUEST_TIMEOUT)

    def request(self, method: str, path: str, body: dict | None = None, kind: str = "") -> tuple[int, dict, str]:
        headers = {"Host": HOST}
        if self.tls:
            headers["Referer"] = f"https://{HOST}:{self.port}/"  # Django's CSRF check over HTTPS wants it
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        data = None
        if body is not None:
            data = urllib.parse.urlencode(body).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        began = time.perf_counter()
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=data, headers=headers)
                response = self.conn.getresponse()
                text = response.read().decode("utf-8", "replace")
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = self.connect()
                if attempt == 2 or method != "GET":
                    raise
        if kind:
            self.tally.time(kind, (time.perf_counter() - began) * 1000)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return response.status, dict(response.getheaders()), text

    def reconnect(self) -> None:
        self.conn.close()
        self.conn = self.connect()

    def login(self, username: str, password: str) -> None:
        status, _, page = self.request("GET", "/accounts/login/")
        token = CSRF_INPUT.search(page).group(1)
        status, headers, _ = self.request("POST", "/accounts/login/", {
            "csrfmiddlewaretoken": token, "username": username, "password": password})
        if status != 302:
            raise RuntimeError(f"{username}: sign-in answered HTTP {status}")

    def report_form(self) -> tuple[str, str, str]:
        status, _, page = self.request("GET", "/grid/events/new/")
        if status != 200:
            raise RuntimeError(f"report form: HTTP {status}")
        token = CSRF_INPUT.search(page).group(1)
        region_select = page.split('name="region"', 1)[1].split("</select>", 1)[0]
        category_select = page.split('name="category"', 1)[1].split("</select>", 1)[0]
        return token, OPTION.search(region_select).group(1), OPTION.findall(category_select)[-1]


CEILING_PATH = "/accounts/ping/"


PROGRAMS = ("gunicorn", "PostgreSQL", "Redis", "nginx", "Celery", "clients", "other", "idle")


def _program(pid: int, name: str, command: str) -> str:
    if pid == os.getpid():
        return "clients"  # this process: the clients are its threads
    if "gunicorn" in command:
        return "gunicorn"
    if "celery" in command:
        return "Celery"
    return {"postgres": "PostgreSQL", "redis-server": "Redis", "nginx": "nginx"}.get(name, "other")


def machine_cpu() -> tuple[dict[tuple[int, int], tuple[str, float]], float]:
    """Every process's CPU seconds so far (user + system) with the program it belongs to, keyed by its
    pid and start time (a pid can be used again), and the machine's idle seconds (all cores), from
    /proc; empty where there is no /proc."""
    ticks = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    processes: dict[tuple[int, int], tuple[str, float]] = {}
    try:
        pids = [int(entry) for entry in os.listdir("/proc") if entry.isdigit()]
        with open("/proc/stat") as stat:
            fields = stat.readline().split()[1:]
        idle = (int(fields[3]) + int(fields[4])) / ticks  # idle + iowait
    except (OSError, IndexError, ValueError):
        return {}, 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                text = stat.read()
            with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
                command = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:  # ended meanwhile
            continue
        name, rest = text[text.index("(") + 1:text.rindex(")")], text[text.rindex(")") + 2:].split()
        processes[pid, int(rest[19])] = (_program(pid, name, command), (int(rest[11]) + int(rest[12])) / ticks)
    return processes, idle


def machine_cpu_used(before: tuple[dict, float], after: tuple[dict, float]) -> collections.Counter:
    """CPU seconds each program used between two machine_cpu() readings, and the idle seconds. A process
    started meanwhile counts whole; one that ended meanwhile is missing (its last part is lost)."""
    used: collections.Counter = collections.Counter()
    for process, (program, seconds) in after[0].items():
        earlier = before[0].get(process)
        used[program] += seconds - (earlier[1] if earlier else 0.0)
    if after[0]:
        used["idle"] += after[1] - before[1]
    return used


def run_clients(port: int, usernames: list[str], password: str, seconds: float, tally: Tally, *,
                tls: bool = False, mode: str = "mix", signed_in: dict | None = None) -> None:
    """Every client signs in and opens the report form first (not timed: 50 sign-ins at once are a
    burst of password hashing), then all start together and loop for `seconds`."""
    stop_at = [0.0]
    began = [0.0]
    cpu_at_start: list[tuple[dict, float]] = []
    tally.phases += 1
    phase = tally.phases

    def start_clock():  # run once, when every client is ready and before any is released
        cpu_at_start.append(machine_cpu())  # after the sign-ins, which are not part of the phase
        began[0] = time.monotonic()
        stop_at[0] = began[0] + seconds

    ready = threading.Barrier(len(usernames) + 1, action=start_clock, timeout=SETUP_TIMEOUT)

    def client_loop(index: int, username: str):
        client = None
        try:
            if signed_in is not None and username in signed_in:  # a later phase: the same browser, still signed in
                client, token, region, category = signed_in[username]
                client.tally = tally
            else:
                client = Client(port, tally, tls=tls)
                client.login(username, password)
                token, region, category = client.report_form()
                if signed_in is not None:
                    signed_in[username] = (client, token, region, category)
        except Exception as exc:
            tally.error(f"{username}: set-up failed: {exc}")
            client = None
        try:
            ready.wait()
        except threading.BrokenBarrierError:
            return
        if client is None:
            return
        client.reconnect()  # the connection sat idle while the others signed in
        number = 0
        while mode == "ceiling" and time.monotonic() < stop_at[0]:
            try:
                status, _, _ = client.request("GET", CEILING_PATH, kind="GET ping (ceiling)")
                if status != 204:
                    tally.error(f"{username} {CEILING_PATH}: HTTP {status}")
            except Exception as exc:
                tally.error(f"{username}: {type(exc).__name__}: {exc}")
        while mode == "mix" and time.monotonic() < stop_at[0]:
            number += 1
            key = f"{tally.prefix}{index}-{phase}-{number}"
            form = {"csrfmiddlewaretoken": token, "idempotency_key": key, "region": region, "category": category,
                    "title": f"负载测试上报 {index}-{number}", "description": "负载测试：村口道路旁有建筑垃圾堆放。",
                    "occurred_at": time.strftime("%Y-%m-%d %H:%M"), "urgency": "normal", "source": "patrol",
                    "latitude": "", "longitude": "", "address": "村口"}
            try:
                for attempt in range(2 if number % 10 == 0 else 1):
                    status, headers, _ = client.request("POST", "/grid/events/new/", form, kind="POST report event")
                    location = headers.get("Location", "")
                    match = re.search(r"/grid/events/(\d+)/", location)
                    if status != 302 or not match:
                        tally.error(f"{username} report: HTTP {status} {location}")
                        break
                    with tally.lock:
                        first = tally.acknowledged.setdefault(key, int(match.group(1)))
                        if attempt:
                            if first == int(match.group(1)):
                                tally.retried_same += 1
                            else:
                                tally.retried_other += 1
                pages = [("GET my tasks", "/grid/tasks/"), ("GET region events", "/grid/events/")]
                if match:  # the browser follows the redirect to the new event's page
                    pages.insert(0, ("GET event detail", urllib.parse.urlsplit(location).path))
                if number % 4 == 0:
                    pages.append(("GET home", "/"))
                for kind, path in pages:
                    status, _, _ = client.request("GET", path, kind=kind)
                    if status != 200:
                        tally.error(f"{username} {path}: HTTP {status}")
            except Exception as exc:
                tally.error(f"{username}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=client_loop, args=(i, name), daemon=True) for i, name in enumerate(usernames)]
    for thread in threads:
        thread.start()
    try:
        ready.wait()
    except threading.BrokenBarrierError:
        tally.error("set-up of the clients did not finish in time")
    for thread in threads:
        thread.join(timeout=seconds + REQUEST_TIMEOUT * 3 + 60)
    tally.elapsed += time.monotonic() - began[0] if began[0] else 0.0
    if cpu_at_start:
        tally.machine.update(machine_cpu_used(cpu_at_start[0], machine_cpu()))


def check_database(tally: Tally) -> dict:
    """Acknowledged reports against the rows: none lost, none doubled, none unacknowledged."""
    # Deferred: Django is set up by the benchmark harness before this runs
    from django.db.models import Count

    from grid.models import Event

    rows = Event.objects.filter(idempotency_key__startswith=tally.prefix)
    by_key = dict(rows.values("idempotency_key").annotate(n=Count("id")).values_list("idempotency_key", "n"))
    ids = dict(rows.values_list("idempotency_key", "id"))
    lost = [key for key in tally.acknowledged if key not in by_key]
    wrong = [key for key, pk in tally.acknowledged.items() if key in ids and ids[key] != pk]
    doubled = [key for key, n in by_key.items() if n > 1]
    unacknowledged = [key for key in by_key if key not in tally.acknowledged]
    return {"events in database": len(by_key), "acknowledged": len(tally.acknowledged), "lost": len(lost),
            "doubled": len(doubled), "acknowledged with another id": len(wrong),
            "in database, not acknowledged": len(unacknowledged)}


def load_test(database_url: str, usernames: list[str], password: str, seconds: float) -> dict:
    """Serve, run the clients, check the database; returns the figures."""
    tally = Tally()
    with Server(database_url) as server:
        run_clients(server.port, usernames, password, seconds, tally)
        elapsed = tally.elapsed
    requests = sum(len(v) for v in tally.latencies.values())
    everything = [ms for values in tally.latencies.values() for ms in values]
    return {
        "clients": len(usernames), "seconds": round(elapsed, 1), "requests": requests,
        "requests per s": round(requests / elapsed, 1) if elapsed else 0,
        "p95 ms": round(harness.p(everything, 95), 1) if everything else None,
        "by kind": {kind: {"count": len(v), "median ms": round(harness.p(v, 50), 1), "p95 ms": round(harness.p(v, 95), 1)}
                    for kind, v in sorted(tally.latencies.items())},
        "errors": len(tally.errors), "first errors": tally.errors[:10],
        "retries answered with the same event": tally.retried_same,
        "retries answered with another event": tally.retried_other,
        "database": check_database(tally),
    }


def summary(tally: Tally) -> dict:
    requests = sum(len(v) for v in tally.latencies.values())
    everything = [ms for values in tally.latencies.values() for ms in values]
    elapsed = tally.elapsed
    return {
        "seconds": round(elapsed, 1), "requests": requests,
        "requests per s": round(requests / elapsed, 1) if elapsed else 0,
        "p95 ms": round(harness.p(everything, 95), 1) if everything else None,
        "by kind": {kind: {"count": len(v), "median ms": round(harness.p(v, 50), 1), "p95 ms": round(harness.p(v, 95), 1)}
                    for kind, v in sorted(tally.latencies.items())},
        "errors": len(tally.errors), "first errors": tally.errors[:10],
        "machine cpu": {program: {"cores": round(tally.machine[program] / elapsed, 2),
                                  "ms per request": round(tally.machine[program] * 1000 / requests, 2)}
                        for program in PROGRAMS if program in tally.machine} if elapsed and requests else {},
    }


def read_cost_log(path: Path, spans: list[tuple[int, int | None]] | None = None) -> dict:
    """The server's own accounting (RequestCostMiddleware): per view, requests, CPU ms and queries, from
    the given byte spans of the log (start, end or None for the rest; default: all of it)."""
    rows: dict[str, list[tuple[float, int]]] = {}
    with open(path, encoding="utf-8") as log:
        for start, end in spans or [(0, None)]:
            log.seek(start)
            text = log.read() if end is None else log.read(end - start)
            for line in text.splitlines():
                parts = line.split("\t")
                if len(parts) != 6:
                    continue
                name, method, _status, cpu, _wall, queries = parts
                rows.setdefault(f"{method} {name}", []).append((float(cpu), int(queries)))
    return {view: {"count": len(values), "cpu ms mean": round(sum(c for c, _ in values) / len(values), 2),
                   "cpu ms median": round(harness.p([c for c, _ in values], 50), 2),
                   "queries median": harness.p([q for _, q in values], 50)}
            for view, values in sorted(rows.items())}


def connections_per_worker(port: int) -> list[int]:
    """How many of the clients' keep-alive connections each gunicorn worker holds, most first (from `ss`;
    empty where it is missing). A connection stays with the worker that accepted it, and the workers
    share the CPU, so the clients of a worker holding more of them wait longer: the spread moves the
    p95."""
    try:
        listing = subprocess.run(["ss", "-tnpH", "state", "established", "(", "sport", "=", f":{port}", ")"],
                                 capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return sorted(collections.Counter(re.findall(r"pid=(\d+)", listing)).values(), reverse=True)


def throughput_test(database_url: str, usernames: list[str], password: str, seconds: float, ceiling_seconds: float,
                    *, target_port: int | None = None, tls: bool = False, cost_log: Path | None = None,
                    workers: int = int(os.environ.get("BENCH_WORKERS", "3")),
                    threads: int = int(os.environ.get("BENCH_THREADS", "4")),
                    rounds: int = int(os.environ.get("BENCH_ROUNDS", "3"))) -> dict:
    """The real mix for `seconds` and the trivial signed-in page (the ceiling) for `ceiling_seconds`, by
    the same clients against the same server: our own gunicorn on a free port (with the cost log on),
    or an already running deployment (`target_port`, e.g. nginx; its cost log given). In `rounds`
    alternations (a third of each, mix first), so that both are measured over the same stretch of time
    on a host whose speed drifts over minutes; `rounds=1` is one mix, then one ceiling."""
    mix, ceiling = Tally(), Tally()
    ceiling.prefix = mix.prefix
    spread: list[int] = []

    def size(log: Path | None) -> int:
        return log.stat().st_size if log and log.exists() else 0

    def drive(port: int, log: Path | None) -> tuple[dict, dict]:
        signed_in: dict = {}
        spans: dict[str, list[tuple[int, int]]] = {"mix": [], "ceiling": []}
        for _round in range(rounds):
            for mode, tally, length in (("mix", mix, seconds / rounds), ("ceiling", ceiling, ceiling_seconds / rounds)):
                start = size(log)
                if mode == "mix" and target_port is None and not spread:  # how the connections fell across workers
                    threading.Timer(length / 2, lambda: spread.extend(connections_per_worker(port))).start()
                run_clients(port, usernames, password, length, tally, tls=tls, mode=mode, signed_in=signed_in)
                spans[mode].append((start, size(log)))
        if not log or not log.exists():
            return {}, {}
        return read_cost_log(log, spans["mix"]), read_cost_log(log, spans["ceiling"])

    if target_port is None:
        log = ROOT / "var" / "bench" / f"cost-{os.getpid()}.log"
        log.unlink(missing_ok=True)
        with Server(database_url, workers=workers, threads=threads, extra_env={"REQUEST_COST_LOG": str(log)}) as server:
            mix_cost, ceiling_cost = drive(server.port, log)
    else:
        mix_cost, ceiling_cost = drive(target_port, cost_log)
    result = {"clients": len(usernames), "mix": summary(mix), "ceiling": summary(ceiling),
              "mix cost": mix_cost, "ceiling cost": ceiling_cost, "connections per worker": spread,
              "retries answered with the same event": mix.retried_same,
              "retries answered with another event": mix.retried_other,
              "database": check_database(mix)}
    top = result["ceiling"]["requests per s"]
    result["fraction of ceiling"] = round(result["mix"]["requests per s"] / top, 3) if top else None
    return result
