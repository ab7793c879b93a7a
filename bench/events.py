"""Benchmark: playback events posted by concurrent clients to a real server on PostgreSQL,
against the stack's ceiling measured in the same run.

Targets (issue 16, this 2-core machine): one event per request at >= 300 events/s sustained
with p95 < 100 ms; capacity >= 0.5x the stack's ceiling; every acknowledged event stored,
also when a worker is killed mid-run.

What runs:
- a temporary PostgreSQL database (127.0.0.1:5432, user postgres, trust auth), migrated and
  dropped at the end;
- the server as deployed (platform/Procfile): `python -m config.serve --workers W`, uvicorn
  workers that each bind the port with SO_REUSEPORT, Django's sync handler in a pool of
  threads per worker (config/sync_http.py), CONN_MAX_AGE=300; DJANGO_SETTINGS_MODULE is
  bench.ceiling.settings, which only adds the ceiling route;
- the ceiling: /bench/ceiling/<session>/, the cheapest view that stores one playback event
  (one ORM INSERT, no user, no checks) on the same server, middleware and database;
- participants with an active session each (started an hour ago, 12 tracks of 5 minutes) log
  in through Django sessions; every request carries the session cookie and the CSRF header,
  exactly as the player page does;
- the load generator is asyncio with raw HTTP/1.1 keep-alive connections (one per client,
  opened 25 ms apart), open loop where a rate is given: requests are scheduled at a fixed rate
  and latency is measured from the scheduled time, so queueing shows (no coordinated omission).
  Closed loop (each client sends its next request when answered) measures capacity.

Phases, in one run:
1. baseline: one client, one event per request, closed loop;
2. capacity, closed loop, C clients, one event per request: the ceiling view and Attune in
   alternating rounds (C A A C C A A C: drift on a shared machine falls on both alike); server CPU per request is read from /proc for the worker processes (steadier than wall
   throughput on a shared machine). The capacity ratio Attune/ceiling is the issue's measure;
3. open loop at --rate events/s, one event per request: Attune, then the ceiling;
4. open loop, batches of B (the player's batched progress events);
5. fault injection: open loop one event per request while one worker is killed with SIGKILL
   halfway; clients whose connection breaks reconnect and resend the same events (same ids)
   until acknowledged. The supervisor starts a new worker;
6. with --compare-asgi (default on): the previous serving model, `uvicorn --workers W` with
   Django's async-mode ASGIHandler and CONN_MAX_AGE=0, capacity of the ceiling and Attune.
After 2 % of its requests a client re-sends one event it already sent (same id): it must be
answered 200 with the stored event and never counted twice. At the end every acknowledged
event id is looked for in the database.

Run: .venv/bin/python bench/events.py [--seconds 20] [--rate 300] [--clients 16] [--workers 2]
     quick: --seconds 5 --no-compare-asgi
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PG = {"host": "127.0.0.1", "port": 5432, "user": "postgres"}
QUEUE_LENGTH = 12
TRACK_SECONDS = 300.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pg_admin(sql: str) -> None:
    import psycopg2

    conn = psycopg2.connect(dbname="postgres", **PG)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(sql)
    conn.close()


def pg_rows(dbname: str, sql: str, params=None) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(dbname=dbname, **PG)
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    conn.close()
    return rows


def postgres_pids() -> list[int]:
    """The database server's processes (postmaster and backends), by their command name."""
    pids = []
    for status in Path("/proc").glob("[0-9]*/comm"):
        try:
            if status.read_text().strip() == "postgres":
                pids.append(int(status.parent.name))
        except (OSError, ValueError):
            pass
    return pids


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f}/{five:.1f}"


SETUP = r"""
import json
from datetime import timedelta
from django.conf import settings
from accounts.session_store import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.utils import timezone
from accounts.models import User
from recommender.models import Track
from studies.listening.models import ListeningSession, PlannedTrack

n = N_CLIENTS; queue_length = QUEUE_LENGTH; seconds = TRACK_SECONDS
tracks = Track.objects.bulk_create([
    Track(title=f"Bench {i}", artist=f"A{i % 9}", duration_s=seconds, external_id=f"bench-{i}")
    for i in range(queue_length * 4)])
out = []
started = timezone.now() - timedelta(hours=1)
for u in range(n):
    user = User.objects.create_user(username=f"bench-{u}", password=None)
    session = ListeningSession.objects.create(
        user=user, started_at=started, pre_valence=-0.5, pre_arousal=-0.3, target_valence=0.5,
        target_arousal=-0.5, target_source="stated", strategy="iso", length_tracks=queue_length)
    queue = [tracks[(u + i) % len(tracks)] for i in range(queue_length)]
    PlannedTrack.objects.bulk_create([PlannedTrack(session=session, position=i, track=t) for i, t in enumerate(queue)])
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "accounts.auth_backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    out.append({"cookie": store.session_key, "session_id": session.pk, "queue": [t.pk for t in queue]})
print(json.dumps({"clients": out, "cookie_name": settings.SESSION_COOKIE_NAME}))
"""


@dataclass
class Client:
    cookie: str
    session_id: int
    queue: list[int]
    csrf: str = field(default_factory=lambda: secrets.token_hex(16))  # 32 characters, as Django stores it
    sent: list[dict] = field(default_factory=list)


def make_event(client: Client, rng: random.Random) -> dict:
    """What the player sends: mostly progress (batched in the page), the rest at once."""
    position = rng.randrange(len(client.queue))
    kind = rng.choices(("progress", "started", "liked", "reaction", "skipped", "completed"), (70, 12, 5, 5, 5, 3))[0]
    event = {
        "event_id": str(uuid.uuid4()),
        "kind": kind,
        "track_id": client.queue[position],
        "position": position,
        "seconds_played": round(rng.uniform(0, 200), 2),
        "occurred_at": datetime.now(UTC).isoformat(),
    }
    if kind == "reaction":
        event["payload"] = {"gems": rng.choice(["wonder", "tenderness", "peacefulness", "sadness"])}
    return event


class Connection:
    """One keep-alive HTTP/1.1 connection: POST JSON, read status and body."""

    def __init__(self, host: str, port: int, cookie_name: str, client: Client):
        self.host, self.port = host, port
        self.headers = (
            f"Host: {host}:{port}\r\nContent-Type: application/json\r\nConnection: keep-alive\r\n"
            f"Cookie: {cookie_name}={client.cookie}; csrftoken={client.csrf}\r\nX-CSRFToken: {client.csrf}\r\n"
        )
        self.reader = self.writer = None

    async def open(self) -> None:
        self.reader, self.writer = await asyncio.open_connection(self.host, self.port)

    async def post(self, path: str, payload) -> tuple[int, bytes]:
        body = json.dumps(payload).encode()
        head = f"POST {path} HTTP/1.1\r\n{self.headers}Content-Length: {len(body)}\r\n\r\n".encode()
        self.writer.write(head + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("server closed the connection")
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "content-length":
                length = int(value.strip())
            elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                chunked = True
        if chunked:
            data = b""
            while True:
                size = int((await self.reader.readline()).strip(), 16)
                if size == 0:
                    await self.reader.readline()
                    break
                data += await self.reader.readexactly(size)
                await self.reader.readline()
            return status, data
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


@dataclass
class PhaseResult:
    name: str
    clients: int
    batch: int
    seconds: float
    requests: int = 0
    events_sent: int = 0
    acknowledged_new: int = 0
    acknowledged_retries: int = 0
    resent: int = 0  # requests sent again after a broken connection or a 5xx
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    cpu_ms_per_request: float = float("nan")
    db_cpu_ms_per_request: float = float("nan")  # PostgreSQL's processes (they share the cores)
    load: str = ""
    acknowledged_ids: list[str] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.acknowledged_new / self.seconds if self.seconds else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(round(q / 100 * (len(data) - 1))))]


class Server:
    """The server process tree: its workers' pids, their CPU time, their connections."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path, port: int):
        self.command, self.env, self.log_path, self.port = command, env, log_path, port
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        self.log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                    if r.status == 200 and len(self.workers()) >= 1:
                        break
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start:\n" + self.log_path.read_text()[-3000:])
            time.sleep(0.3)
        return self

    def __exit__(self, *exc):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()

    def workers(self) -> list[int]:
        """Child processes of the server (uvicorn/config.serve workers); the server itself if none."""
        children = []
        for status in Path("/proc").glob("[0-9]*/status"):
            try:
                text = status.read_text()
            except OSError:
                continue
            ppid = next((int(line.split()[1]) for line in text.splitlines() if line.startswith("PPid:")), 0)
            if ppid == self.proc.pid:
                children.append(int(status.parent.name))
        return sorted(children) or [self.proc.pid]

    @staticmethod
    def cpu_seconds(pids: list[int]) -> float:
        total = 0.0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            except (OSError, IndexError, ValueError):
                pass
        return total

    def connections_per_worker(self) -> dict[int, int]:
        """Established TCP connections on the server port held by each worker process."""
        established = set()
        for table in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                lines = Path(table).read_text().splitlines()[1:]
            except OSError:
                continue
            for line in lines:
                parts = line.split()
                local_port = int(parts[1].rsplit(":", 1)[1], 16)
                if local_port == self.port and parts[3] == "01":  # ESTABLISHED
                    established.add(parts[9])  # inode
        split = {}
        for pid in self.workers():
            count = 0
            try:
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    try:
                        target = os.readlink(fd)
                    except OSError:
                        continue
                    if target.startswith("socket:[") and target[8:-1] in established:
                        count += 1
            except OSError:
                pass
            split[pid] = count
        return split


async def open_connections(host, port, cookie_name, clients, stagger_s=0.025) -> list[Connection]:
    conns = []
    for c in clients:
        conn = Connection(host, port, cookie_name, c)
        await conn.open()
        conns.append(conn)
        await asyncio.sleep(stagger_s)  # staggered, as real players arrive
    return conns


async def run_phase(
    name: str,
    server: Server,
    cookie_name: str,
    clients: list[Client],
    *,
    batch: int,
    seconds: float,
    rate: float,
    seed: int,
    path_for=lambda c: f"/api/sessions/{c.session_id}/events/",
    kill_at: float | None = None,
    split: dict | None = None,
) -> PhaseResult:
    """Open loop at `rate` events/s spread over the clients, or closed loop when rate is 0."""
    rng = random.Random(seed)
    result = PhaseResult(name, len(clients), batch, seconds)
    conns = await open_connections("127.0.0.1", server.port, cookie_name, clients)
    if split is not None:
        split.update(server.connections_per_worker())
    per_client_interval = len(clients) * batch / rate if rate else 0.0
    workers = server.workers()
    cpu0 = server.cpu_seconds(workers)
    db_pids = postgres_pids()
    db_cpu0 = server.cpu_seconds(db_pids)
    load0 = load()
    t0 = time.perf_counter()
    deadline = t0 + seconds
    killed: list[int] = []

    async def send(i: int, path: str, events: list[dict], scheduled: float) -> None:
        payload = events[0] if len(events) == 1 else {"events": events}
        for attempt in range(20):
            try:
                status, body = await conns[i].post(path, payload)
            except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
                result.errors[type(exc).__name__] = result.errors.get(type(exc).__name__, 0) + 1
                result.resent += 1
                conns[i].close()
                await asyncio.sleep(0.05 * (attempt + 1))
                try:
                    conns[i] = Connection("127.0.0.1", server.port, cookie_name, clients[i])
                    await conns[i].open()
                except OSError:
                    pass
                continue
            if status >= 500:
                result.errors[str(status)] = result.errors.get(str(status), 0) + 1
                result.resent += 1
                await asyncio.sleep(0.05 * (attempt + 1))
                continue
            break
        else:
            return
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        result.requests += 1
        result.events_sent += len(events)
        if status in (200, 201):
            answer = json.loads(body)
            for e in answer.get("events", [{"created": True, "event_id": None}]):
                if e["created"]:
                    result.acknowledged_new += 1
                    if e.get("event_id"):
                        result.acknowledged_ids.append(e["event_id"])
                else:
                    result.acknowledged_retries += 1
        else:
            result.errors[str(status)] = result.errors.get(str(status), 0) + 1

    async def one(i: int, client: Client):
        path = path_for(client)
        next_at = t0 + (i / len(clients)) * per_client_interval
        while True:
            if rate:
                now = time.perf_counter()
                if next_at > now:
                    await asyncio.sleep(next_at - now)
                scheduled = next_at
                next_at += per_client_interval
            else:
                scheduled = time.perf_counter()
            if scheduled >= deadline:
                return
            events = [make_event(client, rng) for _ in range(batch)]
            await send(i, path, events, scheduled)
            client.sent.extend(events)
            if rng.random() < 0.02 and "ceiling" not in path:  # a client retries an acknowledged event
                again = [client.sent[rng.randrange(len(client.sent))]]
                await send(i, path, again, time.perf_counter())

    async def killer():
        await asyncio.sleep(kill_at)
        victim = server.workers()[0]
        os.kill(victim, signal.SIGKILL)
        killed.append(victim)

    tasks = [one(i, c) for i, c in enumerate(clients)]
    if kill_at is not None:
        tasks.append(killer())
    await asyncio.gather(*tasks)
    result.seconds = time.perf_counter() - t0
    result.load = f"{load0} -> {load()}"
    if result.requests:
        result.cpu_ms_per_request = (server.cpu_seconds(workers) - cpu0) * 1000 / result.requests
        result.db_cpu_ms_per_request = (server.cpu_seconds(db_pids) - db_cpu0) * 1000 / result.requests
    for c in conns:
        c.close()
    if killed:
        result.name += f" (killed worker {killed[0]})"
        # the killed worker's CPU (and its database backends') left the count: no per-request figure
        result.cpu_ms_per_request = result.db_cpu_ms_per_request = float("nan")
    return result


def merged(name: str, parts: list[PhaseResult]) -> PhaseResult:
    """Several rounds of one phase as one: requests, time, CPU and latencies added up."""
    total = PhaseResult(name, parts[0].clients, parts[0].batch, sum(p.seconds for p in parts))
    for p in parts:
        total.requests += p.requests
        total.events_sent += p.events_sent
        total.acknowledged_new += p.acknowledged_new
        total.acknowledged_retries += p.acknowledged_retries
        total.resent += p.resent
        total.latencies_ms += p.latencies_ms
        total.acknowledged_ids += p.acknowledged_ids
        for k, v in p.errors.items():
            total.errors[k] = total.errors.get(k, 0) + v
    if total.requests:
        total.cpu_ms_per_request = sum(p.cpu_ms_per_request * p.requests for p in parts) / total.requests
        total.db_cpu_ms_per_request = sum(p.db_cpu_ms_per_request * p.requests for p in parts) / total.requests
    total.load = f"{parts[0].load.split(' -> ')[0]} -> {parts[-1].load.split(' -> ')[-1]}"
    return total


ROUND_RATIOS: list[float] = []


async def interleaved_capacity(server, cookie_name, clients, ceiling_clients, ceiling_path, seconds, split, rounds):
    """Capacity of the ceiling and of Attune, closed loop, measured in alternating rounds in the
    order C A A C C A A C ..., so that what changes on a shared machine during the run (other
    work, the database's autovacuum after the ceiling's inserts) falls on both sides alike.
    Returns the two merged results; ROUND_RATIOS gets each pair's ratio."""
    per = seconds / rounds
    ceiling_parts: list[PhaseResult] = []
    attune_parts: list[PhaseResult] = []
    for k in range(rounds):
        order = ("ceiling", "attune") if k % 2 == 0 else ("attune", "ceiling")
        for side in order:
            if side == "ceiling":
                ceiling_parts.append(await run_phase(
                    "ceiling", server, cookie_name, ceiling_clients, batch=1, seconds=per, rate=0, seed=20 + k,
                    path_for=ceiling_path, split=split.setdefault("ceiling", {}) if k == 0 else None,
                ))
            else:
                attune_parts.append(await run_phase(
                    "attune", server, cookie_name, clients, batch=1, seconds=per, rate=0, seed=40 + k,
                    split=split.setdefault("attune capacity", {}) if k == 0 else None,
                ))
    ROUND_RATIOS[:] = [
        a.requests_per_s / c.requests_per_s for a, c in zip(attune_parts, ceiling_parts, strict=True) if c.requests_per_s
    ]
    return [
        merged(f"CEILING capacity: {len(clients)} clients, closed loop ({rounds} rounds)", ceiling_parts),
        merged(f"attune capacity: {len(clients)} clients, 1 event/request, closed loop ({rounds} rounds)", attune_parts),
    ]


def table(title: str, phases: list[PhaseResult]) -> None:
    print(f"\n{title}")
    header = (
        f"{'phase':<62} {'req':>6} {'req/s':>7} {'events/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
        f"{'CPU ms/req':>10} {'DB ms/req':>9} {'retries':>7} {'errors':>6}  load 1/5 min"
    )
    print(header)
    print("-" * len(header))
    for p in phases:
        errors = sum(v for k, v in p.errors.items() if not k.isdigit() or int(k) >= 400)
        print(
            f"{p.name:<62} {p.requests:>6} {p.requests_per_s:>7.1f} {p.events_per_s:>9.1f} {p.pct(50):>8.1f} "
            f"{p.pct(95):>8.1f} {p.pct(99):>8.1f} {p.cpu_ms_per_request:>10.2f} {p.db_cpu_ms_per_request:>9.2f} "
            f"{p.acknowledged_retries:>7} "
            f"{errors:>6}  {p.load}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=300.0, help="target events per second")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batch", type=int, default=10, help="batch size of the batched phase (0 = skip)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8, help="ATTUNE_HTTP_THREADS per worker")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds of the capacity phases")
    parser.add_argument("--no-fault", action="store_true", help="skip the worker-kill phase")
    parser.add_argument("--no-compare-asgi", action="store_true", help="skip the previous serving model's rows")
    args = parser.parse_args()

    dbname = f"attune_bench_i16_events_{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="attune-bench-events-"))
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_ENV"}}
    env.update(
        {
            "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{dbname}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-not-secret-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MEDIA_ROOT": str(workdir / "media"),
            "DJANGO_SETTINGS_MODULE": "bench.ceiling.settings",
            "ATTUNE_FER_PRELOAD": "0",  # the webcam model is bench/webcam.py's business
            "LOG_LEVEL": "WARNING",
        }
    )
    python = sys.executable
    pg_admin(f'CREATE DATABASE "{dbname}"')
    try:
        subprocess.run([python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True, capture_output=True)
        n_clients = max(args.clients, 1) * 2 + 1
        setup_code = (
            SETUP.replace("N_CLIENTS", str(n_clients))
            .replace("QUEUE_LENGTH", str(QUEUE_LENGTH))
            .replace("TRACK_SECONDS", str(TRACK_SECONDS))
        )
        out = subprocess.run(
            [python, "manage.py", "shell", "-c", setup_code],
            cwd=ROOT,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        setup = json.loads(out.stdout.strip().splitlines()[-1])
        every = [Client(c["cookie"], c["session_id"], c["queue"]) for c in setup["clients"]]
        baseline_client, clients, ceiling_clients = every[:1], every[1 : args.clients + 1], every[args.clients + 1 :]
        cookie_name = setup["cookie_name"]
        ceiling_path = lambda c: f"/bench/ceiling/{c.session_id}/"  # noqa: E731
        s = args.seconds

        port = free_port()
        pooled_env = {**env, "CONN_MAX_AGE": "300", "ATTUNE_HTTP_THREADS": str(args.threads)}
        command = [python, "-m", "config.serve", "--port", str(port), "--workers", str(args.workers)]
        split: dict[str, dict] = {}
        with Server(command, pooled_env, workdir / "pooled.log", port) as server:

            async def pooled_phases():
                c, r, rounds = clients, args.rate, max(1, args.rounds)
                await run_phase("warm-up", server, cookie_name, c, batch=1, seconds=3, rate=r / 2, seed=0)
                await run_phase(
                    "warm-up", server, cookie_name, ceiling_clients, batch=1, seconds=2, rate=r / 2, seed=0,
                    path_for=ceiling_path,
                )
                phases = [
                    await run_phase(
                        "baseline: 1 client, 1 event/request, closed loop", server, cookie_name, baseline_client,
                        batch=1, seconds=s, rate=0, seed=1,
                    ),
                    *await interleaved_capacity(server, cookie_name, c, ceiling_clients, ceiling_path, s, split, rounds),
                    await run_phase(
                        f"attune: {len(c)} clients, 1 event/request, open loop {r:g}/s", server, cookie_name, c,
                        batch=1, seconds=s, rate=r, seed=4, split=split.setdefault("attune open loop", {}),
                    ),
                    await run_phase(
                        f"CEILING: {len(c)} clients, open loop {r:g}/s", server, cookie_name, ceiling_clients,
                        batch=1, seconds=s, rate=r, seed=5, path_for=ceiling_path,
                    ),
                ]
                if args.batch:
                    phases.append(
                        await run_phase(
                            f"attune: {len(c)} clients, batches of {args.batch}, open loop {r:g} ev/s", server,
                            cookie_name, c, batch=args.batch, seconds=s, rate=r, seed=6,
                        )
                    )
                if not args.no_fault:
                    phases.append(
                        await run_phase(
                            f"FAULT: 1 event/request, open loop {r:g}/s", server, cookie_name, c, batch=1,
                            seconds=s, rate=r, seed=7, kill_at=s / 2,
                        )
                    )
                return phases

            pooled = asyncio.run(pooled_phases())
            pooled_workers = server.workers()

        asgi: list[PhaseResult] = []
        if not args.no_compare_asgi:
            port = free_port()
            asgi_env = {**env, "CONN_MAX_AGE": "0", "ATTUNE_HTTP_HANDLER": "django"}
            command = [
                python, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
                "--workers", str(args.workers), "--no-access-log", "--log-level", "warning",
            ]
            with Server(command, asgi_env, workdir / "asgi.log", port) as server:

                async def asgi_phases():
                    c = clients
                    await run_phase("warm-up", server, cookie_name, c, batch=1, seconds=3, rate=args.rate / 4, seed=8)
                    return [
                        await run_phase(
                            f"CEILING capacity on Django's ASGIHandler, {len(c)} clients", server, cookie_name,
                            ceiling_clients, batch=1, seconds=s, rate=0, seed=9, path_for=ceiling_path,
                            split=split.setdefault("ASGIHandler ceiling", {}),
                        ),
                        await run_phase(
                            f"attune capacity on Django's ASGIHandler, {len(c)} clients", server, cookie_name, c,
                            batch=1, seconds=s, rate=0, seed=10, split=split.setdefault("ASGIHandler attune", {}),
                        ),
                    ]

                asgi = asyncio.run(asgi_phases())

        acknowledged = [i for p in pooled + asgi for i in p.acknowledged_ids]
        attune_sessions = [c.session_id for c in every[: args.clients + 1]]
        stored_ids = {
            str(row[0])
            for row in pg_rows(
                dbname,
                "SELECT event_id FROM listening_playbackevent WHERE session_id = ANY(%s) AND kind <> 'replanned'",
                (attune_sessions,),
            )
        }
        duplicates = pg_rows(
            dbname,
            "SELECT count(*) FROM (SELECT session_id, event_id FROM listening_playbackevent "
            "GROUP BY session_id, event_id HAVING count(*) > 1) d",
        )[0][0]
        missing = [i for i in acknowledged if i not in stored_ids]

        print(
            f"\nPlayback events on PostgreSQL, {os.cpu_count()} cores shared with other engineers' work; "
            f"`uptime` load average at the end: {load()} (1/5 min)"
        )
        table(
            f"Attune as deployed: python -m config.serve --workers {args.workers} (SO_REUSEPORT, pooled sync "
            f"handler, {args.threads} threads/worker, CONN_MAX_AGE=300); worker pids {pooled_workers}",
            pooled,
        )
        if asgi:
            table(
                f"previous serving model: uvicorn --workers {args.workers}, Django's async-mode ASGIHandler, "
                "CONN_MAX_AGE=0",
                asgi,
            )
        print("\nconnections per worker process (sampled after the clients connected):")
        for what, per in split.items():
            print(f"  {what:<22} {sorted(per.values(), reverse=True)}")

        base, ceiling_cap, attune_cap, attune_open, ceiling_open = pooled[:5]
        rest = pooled[5:]
        cap_ratio = attune_cap.requests_per_s / ceiling_cap.requests_per_s if ceiling_cap.requests_per_s else 0
        cpu_ratio = ceiling_cap.cpu_ms_per_request / attune_cap.cpu_ms_per_request
        print("\ntargets")
        ok = attune_open.events_per_s >= 0.95 * args.rate and attune_open.pct(95) < 100 and not attune_open.errors
        print(
            f"  one event per request at {args.rate:g}/s: {attune_open.events_per_s:.1f} events/s acknowledged, "
            f"p95 {attune_open.pct(95):.1f} ms (>= {0.95 * args.rate:g}/s, < 100 ms): {'MET' if ok else 'NOT MET'}"
        )
        print(
            f"  capacity vs the ceiling in this run: {attune_cap.requests_per_s:.0f} vs {ceiling_cap.requests_per_s:.0f} "
            f"requests/s = {cap_ratio:.2f}x (>= 0.5x): {'MET' if cap_ratio >= 0.5 else 'NOT MET'}; "
            f"server CPU per request {attune_cap.cpu_ms_per_request:.2f} vs {ceiling_cap.cpu_ms_per_request:.2f} ms "
            f"= {cpu_ratio:.2f}x"
        )
        if ROUND_RATIOS:
            print(f"  capacity ratio per round (ceiling and attune alternating): {', '.join(f'{r:.2f}' for r in ROUND_RATIOS)}")
        print(
            f"  vs the single-client baseline: {attune_open.events_per_s / base.events_per_s:.1f}x events/s; "
            f"ceiling open loop p95 {ceiling_open.pct(95):.1f} ms"
        )
        if asgi:
            a_ceiling, a_attune = asgi
            print(
                f"  pooled handler vs Django's ASGIHandler (capacity, same run): attune "
                f"{attune_cap.requests_per_s:.0f} vs {a_attune.requests_per_s:.0f} req/s "
                f"({attune_cap.requests_per_s / a_attune.requests_per_s:.1f}x), CPU/request "
                f"{attune_cap.cpu_ms_per_request:.2f} vs {a_attune.cpu_ms_per_request:.2f} ms; ceiling "
                f"{ceiling_cap.requests_per_s:.0f} vs {a_ceiling.requests_per_s:.0f} req/s; on the old stack attune "
                f"was {a_attune.requests_per_s / a_ceiling.requests_per_s:.2f}x its ceiling"
            )
        for p in rest:
            if p.name.startswith("FAULT"):
                print(
                    f"  fault injection: {p.resent} requests resent after the kill, errors {p.errors or 'none'}, "
                    f"p95 {p.pct(95):.0f} ms"
                )
        print(
            f"  acknowledged new events: {len(acknowledged)}; found in the database: {len(acknowledged) - len(missing)}; "
            f"{'ALL STORED' if not missing else f'MISSING {len(missing)}'}; stored twice: {duplicates}; "
            f"retries answered as stored: {sum(p.acknowledged_retries for p in pooled + asgi)}"
        )
        if any(p.errors for p in pooled + asgi):
            print("  errors by kind:", {p.name: p.errors for p in pooled + asgi if p.errors})
    finally:
        time.sleep(0.5)
        pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'")
        pg_admin(f'DROP DATABASE IF EXISTS "{dbname}"')


if __name__ == "__main__":
    main()
