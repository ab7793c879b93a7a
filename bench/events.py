"""Benchmark: playback events posted by concurrent clients to a real server on PostgreSQL.

Target (issue 6): at least 300 events/s sustained on this 2-core machine with p95 under
100 ms, and every acknowledged event in the database afterwards (counted).

What runs:
- a temporary PostgreSQL database (127.0.0.1:5432, user postgres, trust auth) is created,
  migrated and dropped at the end;
- uvicorn serves config.asgi with --workers W (default 2), CONN_MAX_AGE=0 as in production ASGI,
  and ATTUNE_LISTENING_EVENTS_THREADS=4 (the events API's pool of threads with persistent
  connections; --events-threads 0 measures the plain request-thread path);
- participants with an active session each (started an hour ago, a queue of 12 tracks of
  5 minutes) log in through Django sessions; every request carries the session cookie and
  the CSRF header, exactly as the player page does;
- the load generator is asyncio with raw HTTP/1.1 keep-alive connections (one per client),
  open loop: requests are scheduled at a fixed rate and latency is measured from the
  scheduled time, so a slow server cannot hide queueing (no coordinated omission).

Phases, each measured in the same run:
1. baseline "single client, one event per request": one client posting events one at a time,
   closed loop (the next request after the previous answer), for the same duration;
2. "concurrent, one event per request": C clients, open loop at the target rate;
3. "concurrent, batches": C clients posting batches of B events (default B = 5 and 10; the
   player's outbox sends up to 50 at once after a pause or a retry), open loop at the target
   event rate.
After 2 % of its requests a client also re-sends one event it already sent, with the same event
id (a retry, an extra request): it must be answered 200 with the stored event and must not be
counted twice.

Run: .venv/bin/python bench/events.py [--seconds 20] [--rate 300] [--clients 16] [--workers 2] [--batches 5,10]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import secrets
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


def pg_count(dbname: str, sql: str) -> int:
    import psycopg2

    conn = psycopg2.connect(dbname=dbname, **PG)
    with conn.cursor() as cur:
        cur.execute(sql)
        (n,) = cur.fetchone()
    conn.close()
    return int(n)


SETUP = r"""
import json, sys
from datetime import timedelta
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.auth import SESSION_KEY, BACKEND_SESSION_KEY, HASH_SESSION_KEY
from django.utils import timezone
from accounts.models import User
from recommender.models import Track
from studies.listening.models import ListeningSession, PlannedTrack

n = int(sys.argv[1]); queue_length = int(sys.argv[2]); seconds = float(sys.argv[3])
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
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
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
    sent_ids: list[str] = field(default_factory=list)


def make_event(client: Client, rng: random.Random) -> dict:
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
    errors: dict[int, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)

    @property
    def events_per_s(self) -> float:
        return self.acknowledged_new / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(round(q / 100 * (len(data) - 1))))]


async def run_phase(name, host, port, cookie_name, clients, *, batch, seconds, rate, closed_loop, seed) -> PhaseResult:
    """Open loop at `rate` events/s spread over the clients (or closed loop if asked)."""
    rng = random.Random(seed)
    result = PhaseResult(name, len(clients), batch, seconds)
    conns = [Connection(host, port, cookie_name, c) for c in clients]
    await asyncio.gather(*(c.open() for c in conns))
    per_client_interval = len(clients) * batch / rate if rate else 0.0
    t0 = time.perf_counter()
    deadline = t0 + seconds

    async def send(conn: Connection, path: str, events: list[dict], scheduled: float, *, retry: bool) -> None:
        payload = events[0] if len(events) == 1 else {"events": events}
        status, body = await conn.post(path, payload)
        result.latencies_ms.append((time.perf_counter() - scheduled) * 1000)
        result.requests += 1
        result.events_sent += len(events)
        if status in (200, 201):
            for e in json.loads(body)["events"]:
                if e["created"]:
                    result.acknowledged_new += 1
                else:
                    result.acknowledged_retries += 1
        else:
            result.errors[status] = result.errors.get(status, 0) + 1

    async def one(i: int, conn: Connection, client: Client):
        path = f"/api/sessions/{client.session_id}/events/"
        k = 0
        next_at = t0 + (i / len(clients)) * per_client_interval
        while True:
            if not closed_loop:
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
            await send(conn, path, events, scheduled, retry=False)
            client.sent_ids.extend(events)
            if rng.random() < 0.02:  # now and then a client retries an acknowledged event (extra request)
                again = [client.sent_ids[rng.randrange(len(client.sent_ids))]]
                await send(conn, path, again, time.perf_counter(), retry=True)
            k += 1

    await asyncio.gather(*(one(i, conn, c) for i, (conn, c) in enumerate(zip(conns, clients, strict=True))))
    result.seconds = time.perf_counter() - t0
    for c in conns:
        c.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=float, default=300.0, help="target events per second")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--batches", default="5,10", help="batch sizes of the batched phases, comma-separated")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--events-threads", type=int, default=4,
                        help="ATTUNE_LISTENING_EVENTS_THREADS for the server (0 = the request thread)")
    args = parser.parse_args()
    batch_sizes = [int(b) for b in args.batches.split(",") if b.strip()]

    dbname = f"attune_bench_events_{secrets.token_hex(4)}"
    workdir = Path(tempfile.mkdtemp(prefix="attune-bench-events-"))
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DJANGO_ENV"}}
    env.update(
        {
            "DATABASE_URL": f"postgres://{PG['user']}@{PG['host']}:{PG['port']}/{dbname}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-not-secret-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "CONN_MAX_AGE": "0",  # under ASGI each request runs in its own thread: persistent connections would leak
            "ATTUNE_LISTENING_EVENTS_THREADS": str(args.events_threads),
            "MEDIA_ROOT": str(workdir / "media"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
    )
    python = sys.executable
    pg_admin(f'CREATE DATABASE "{dbname}"')
    server = None
    try:
        subprocess.run([python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=env, check=True,
                       capture_output=True)
        n_clients = max(args.clients, 1) + 1
        out = subprocess.run([python, "manage.py", "shell", "-c", SETUP.replace("sys.argv[1]", str(n_clients))
                              .replace("sys.argv[2]", str(QUEUE_LENGTH)).replace("sys.argv[3]", str(TRACK_SECONDS))],
                             cwd=ROOT, env=env, check=True, capture_output=True, text=True)
        setup = json.loads(out.stdout.strip().splitlines()[-1])
        all_clients = [Client(c["cookie"], c["session_id"], c["queue"]) for c in setup["clients"]]
        baseline_client, clients = all_clients[:1], all_clients[1:]
        port = free_port()
        log = open(workdir / "server.log", "w")  # noqa: SIM115
        server = subprocess.Popen(
            [python, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("server did not start:\n" + (workdir / "server.log").read_text())
            time.sleep(0.3)
        cookie_name = setup["cookie_name"]

        async def all_phases():
            warm = await run_phase("warm-up", "127.0.0.1", port, cookie_name, clients, batch=1, seconds=3,
                                   rate=args.rate / 2, closed_loop=False, seed=0)
            base = await run_phase("baseline: single client, one event per request (closed loop)", "127.0.0.1", port,
                                   cookie_name, baseline_client, batch=1, seconds=args.seconds, rate=0,
                                   closed_loop=True, seed=1)
            single = await run_phase(f"{len(clients)} clients, one event per request, open loop {args.rate:g} ev/s",
                                     "127.0.0.1", port, cookie_name, clients, batch=1, seconds=args.seconds,
                                     rate=args.rate, closed_loop=False, seed=2)
            batched = []
            for k, size in enumerate(batch_sizes):
                batched.append(await run_phase(
                    f"{len(clients)} clients, batches of {size}, open loop {args.rate:g} ev/s", "127.0.0.1", port,
                    cookie_name, clients, batch=size, seconds=args.seconds, rate=args.rate, closed_loop=False,
                    seed=3 + k))
            return [warm, base, single, *batched]

        load_before = os.getloadavg()
        phases = asyncio.run(all_phases())
        load_after = os.getloadavg()
        stored = pg_count(dbname, "SELECT count(*) FROM listening_playbackevent WHERE kind <> 'replanned'")
        acknowledged = sum(p.acknowledged_new for p in phases)
        replans = pg_count(dbname, "SELECT count(*) FROM listening_playbackevent WHERE kind = 'replanned'")

        print(f"\nPlayback events -> uvicorn --workers {args.workers} (events threads {args.events_threads}) -> PostgreSQL ({os.cpu_count()} cores, shared machine; "
              f"1-min load average {load_before[0]:.1f} before, {load_after[0]:.1f} after)")
        header = f"{'phase':<60} {'req':>6} {'events/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'retries':>8} {'errors':>7}"
        print(header)
        print("-" * len(header))
        for p in phases:
            errors = sum(p.errors.values())
            print(f"{p.name:<60} {p.requests:>6} {p.events_per_s:>9.1f} {p.pct(50):>8.1f} {p.pct(95):>8.1f} "
                  f"{p.pct(99):>8.1f} {p.acknowledged_retries:>8} {errors:>7}")
        base, single, batched = phases[1], phases[2], phases[3:]
        print(f"\nratio vs the baseline's events/s: one event per request {single.events_per_s / base.events_per_s:.1f}x; "
              + "; ".join(f"batches of {p.batch} {p.events_per_s / base.events_per_s:.1f}x" for p in batched))
        for p in (single, *batched):
            ok = p.events_per_s >= 0.95 * args.rate and p.pct(95) < 100 and not p.errors
            print(f"target >= {args.rate:g} ev/s (95 % of the schedule) with p95 < 100 ms, no errors: "
                  f"{'MET' if ok else 'NOT MET'} — {p.name}")
        print(f"acknowledged new events: {acknowledged}; rows in the database: {stored}; "
              f"{'all stored' if stored == acknowledged else 'MISMATCH'}; duplicates answered as retries: "
              f"{sum(p.acknowledged_retries for p in phases)}; re-plans (none expected without a webcam trace): {replans}")
        if any(p.errors for p in phases):
            print("errors by status:", {p.name: p.errors for p in phases if p.errors})
            print("server log (tail):\n" + "\n".join((workdir / "server.log").read_text().splitlines()[-40:]))
    finally:
        if server is not None:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
        time.sleep(0.5)
        pg_admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{dbname}'")
        pg_admin(f'DROP DATABASE IF EXISTS "{dbname}"')


if __name__ == "__main__":
    main()
