"""Webcam inference under load: real websocket clients against a real ASGI server process.

    .venv/bin/python bench/webcam.py                      # full run (about 5 minutes)
    .venv/bin/python bench/webcam.py --quick              # uvicorn, 1 and 20 clients, 5 s each, short baseline
    .venv/bin/python bench/webcam.py --servers uvicorn --clients 1,20 --seconds 8 --no-baseline

What it does
- Makes a temporary SQLite database (migrate), a participant with the `webcam_inference`
  consent and a logged-in session; every client authenticates with that session cookie.
- Starts the server as its own process on 127.0.0.1 (uvicorn or daphne, one process each,
  the embedded defaults: in-memory channel layer), waits for /healthz and warms the model
  with one frame.
- Runs N clients (the `websockets` library, one asyncio process) for each N in --clients; each
  sends real face frames (the astronaut from scikit-image, jittered crops, 320x240 JPEG q0.7,
  what the mood check page sends) at 2 fps with a random phase, and times the round trip
  from send to the matching "result". At the end of a step every client asks for its drop
  totals (ping/pong).
- Samples the server's resident memory (/proc/<pid>/status VmRSS) during each step.
- Naive baseline, what the designs do: the same server configured with
  ATTUNE_FER_BACKEND=predict (model.predict() per frame), ATTUNE_FER_DETECT_MAX_SIDE=0 and
  OpenCV's default Haar parameters (scale 1.1, no minimum face size beyond 20 px), clients
  sending full 640x480 frames (JPEG q0.9).

Reported per step: frames sent, processed fps (results per second, all clients), p50/p95
round-trip latency, drops (rate + busy), errors (error replies, lost replies, socket
failures) and peak server RSS. The ratio line compares the best processed fps of our
configuration with the best of the naive baseline, measured in the same run.

Targets (issue 5, 2-core machine): 20 clients at 2 fps with p95 <= 150 ms and no errors;
aggregate throughput >= 10x the naive baseline; server memory <= 1.5 GB.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

FAST_ENV = {"ATTUNE_FER_BACKEND": "auto"}
NAIVE_ENV = {
    "ATTUNE_FER_BACKEND": "predict",
    "ATTUNE_FER_DETECT_MAX_SIDE": "0",
    "ATTUNE_FER_HAAR_SCALE_FACTOR": "1.1",
    "ATTUNE_FER_MIN_FACE_FRACTION": "0",
}

SETUP_USER = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from accounts.session_store import SessionStore
from accounts.models import User
from accounts.services import consent_set
user = User.objects.create_user(username="bench-viewer", password="bench-password-123456")
consent_set(user=user, purpose="webcam_inference", granted=True)
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "accounts.auth_backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print("SESSION", session.session_key)
"""


def make_frames(width: int, height: int, quality: int, n: int = 8) -> list[bytes]:
    """Real face frames: the astronaut, cropped at slightly different places (a head that moves)."""
    import cv2
    from skimage import data

    image = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    rng = random.Random(0)
    frames = []
    for _ in range(n):
        dx, dy = rng.randint(0, 24), rng.randint(0, 24)
        crop = image[dy : dy + 384 - 24, dx : dx + 512 - 24]
        ok, buf = cv2.imencode(
            ".jpg",
            cv2.resize(crop, (width, height), interpolation=cv2.INTER_AREA),
            [cv2.IMWRITE_JPEG_QUALITY, quality],
        )
        assert ok
        frames.append(buf.tobytes())
    return frames


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process (all its threads) so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class Server:
    def __init__(self, kind: str, env: dict[str, str], workdir: Path):
        self.kind, self.env, self.workdir = kind, env, workdir
        self.port = free_port()
        self.proc: subprocess.Popen | None = None

    def __enter__(self):
        if self.kind == "uvicorn":
            cmd = [
                sys.executable,
                "-m",
                "uvicorn",
                "config.asgi:application",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--ws-max-size",
                str(1024 * 1024),
            ]
        elif self.kind == "daphne":
            cmd = [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-v",
                "0",
                "config.asgi:application",
            ]
        else:
            raise ValueError(self.kind)
        self.log = open(self.workdir / f"{self.kind}-{self.port}.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=2) as r:
                    if r.status in (200, 503):
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{self.kind} did not start; see {self.log.name}")
            time.sleep(0.3)

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.log.close()


@dataclass
class ClientStats:
    sent: int = 0
    results: int = 0
    errors: int = 0
    rtts: list[float] = field(default_factory=list)
    server_ms: list[float] = field(default_factory=list)  # receipt -> reply ready, as the server reports it
    dropped: int = 0
    last_result: float = 0.0
    broken: int = 0  # sockets that failed (could not connect, closed early, no pong)
    failures: list[str] = field(default_factory=list)


async def run_client(
    uri: str, cookie: str, frames: list[bytes], fps: float, seconds: float, stats: ClientStats, start_at: float
):
    from websockets.asyncio.client import connect

    sent_at: dict[int, float] = {}
    last_message = [time.perf_counter()]
    try:
        async with connect(
            uri,
            # The Origin is the page's own origin, port included (config/websocket_origin.py).
            additional_headers={"Cookie": f"sessionid={cookie}", "Origin": "http://" + uri.split("/")[2]},
            max_size=2**20,
            open_timeout=30,
            ping_interval=None,
        ) as ws:
            done = asyncio.Event()

            async def reader():
                async for raw in ws:
                    last_message[0] = time.perf_counter()
                    msg = json.loads(raw)
                    kind = msg.get("type")
                    if kind == "result":
                        t = sent_at.pop(msg["frame"], None)
                        if t is not None:
                            stats.rtts.append((time.perf_counter() - t) * 1000)
                        stats.results += 1
                        stats.last_result = time.perf_counter()
                        stats.server_ms.append(msg["processing_ms"])
                    elif kind == "error":
                        stats.errors += 1
                        stats.failures.append(msg.get("error", "")[:80])
                    elif kind == "pong":
                        stats.dropped = msg["dropped"]["rate"] + msg["dropped"]["busy"]
                        done.set()

            task = asyncio.create_task(reader())
            await asyncio.sleep(max(0.0, start_at - time.perf_counter()) + random.random() / fps)
            period = 1.0 / fps
            next_t = time.perf_counter()
            end = next_t + seconds
            n = 0
            while next_t < end:
                await asyncio.sleep(max(0.0, next_t - time.perf_counter()))
                n += 1
                sent_at[n] = time.perf_counter()
                await ws.send(frames[n % len(frames)])
                stats.sent += 1
                next_t += period
            # Settle: ask for the drop totals until every sent frame is answered, dropped or
            # refused (frames still queued on an overloaded server are waited for, up to 30 s).
            settle_until = time.perf_counter() + 30
            while True:
                done.clear()
                await ws.send(json.dumps({"type": "ping"}))
                try:
                    await asyncio.wait_for(done.wait(), 10)
                except TimeoutError:
                    stats.broken += 1
                    stats.failures.append("no pong")
                    break
                if stats.results + stats.dropped + stats.errors >= stats.sent or time.perf_counter() > settle_until:
                    break
                await asyncio.sleep(0.5)
            task.cancel()
    except Exception as exc:  # a socket that fails is an error, counted, not a crash of the bench
        stats.broken += 1
        stats.failures.append(f"{type(exc).__name__}: {exc}"[:120])


async def run_step(
    port: int, cookie: str, frames: list[bytes], clients: int, fps: float, seconds: float, server_pid: int
):
    uri = f"ws://127.0.0.1:{port}/ws/emotion/"
    stats = [ClientStats() for _ in range(clients)]
    peak = {"rss": rss_mb(server_pid)}
    stop = asyncio.Event()

    async def sampler():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], rss_mb(server_pid))
            await asyncio.sleep(0.5)

    sampling = asyncio.create_task(sampler())
    start_at = time.perf_counter() + 1.0  # all sockets open first
    t0 = time.perf_counter()
    cpu0 = cpu_seconds(server_pid)
    await asyncio.gather(*(run_client(uri, cookie, frames, fps, seconds, s, start_at) for s in stats))
    stop.set()
    await sampling
    cpu = cpu_seconds(server_pid) - cpu0
    results = sum(s.results for s in stats)
    rtts = sorted(r for s in stats for r in s.rtts)
    sent = sum(s.sent for s in stats)
    lost = max(0, sent - results - sum(s.dropped for s in stats) - sum(s.errors for s in stats))
    failures = [f for s in stats for f in s.failures]
    return {
        "clients": clients,
        "sent": sent,
        # results over the time it took to deliver them (late answers stretch the window)
        "fps": results / max(seconds, max(s.last_result for s in stats) - start_at),
        "p50": statistics.median(rtts) if rtts else float("nan"),
        "p95": rtts[min(len(rtts) - 1, int(0.95 * len(rtts)))] if rtts else float("nan"),
        "dropped": sum(s.dropped for s in stats),
        "errors": sum(s.errors for s in stats) + lost + sum(s.broken for s in stats),
        "rss": peak["rss"],
        "cpu_ms": cpu * 1000 / results if results else float("nan"),
        "server_p50": statistics.median([m for s in stats for m in s.server_ms] or [float("nan")]),
        "wall": time.perf_counter() - t0,
        "failures": failures[:3],
    }


def prepare(workdir: Path) -> tuple[dict[str, str], str]:
    env = {k: v for k, v in os.environ.items() if k not in {"REDIS_URL", "DATABASE_URL", "DJANGO_ENV"}}
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{workdir / 'bench.sqlite3'}",
            "DEBUG": "0",
            "SECRET_KEY": "bench-not-secret-" + "x" * 40,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "MEDIA_ROOT": str(workdir / "media"),
            "LOG_LEVEL": "WARNING",
            "TF_CPP_MIN_LOG_LEVEL": "2",
            # One account and one address stand for every simulated viewer here, so the
            # per-account and per-address socket limits (accounts/sockets.py) are lifted.
            "ATTUNE_WS_MAX_PER_USER": "1000",
            "ATTUNE_WS_MAX_PER_IP": "1000",
        }
    )
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    out = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", SETUP_USER],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    cookie = next(line.split()[1] for line in out.splitlines() if line.startswith("SESSION"))
    return env, cookie


async def warm_up(port: int, cookie: str, frame: bytes, timeout: float = 300) -> float:
    """One frame, waiting for the model to load (TensorFlow import and all): returns seconds."""
    from websockets.asyncio.client import connect

    t0 = time.perf_counter()
    headers = {"Cookie": f"sessionid={cookie}", "Origin": f"http://127.0.0.1:{port}"}
    async with connect(f"ws://127.0.0.1:{port}/ws/emotion/", additional_headers=headers, open_timeout=60) as ws:
        await ws.send(frame)
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if msg["type"] == "result":
                return time.perf_counter() - t0
            if msg["type"] == "error":
                raise RuntimeError(f"warm-up frame failed: {msg}")


def bench_server(kind, env, extra_env, workdir, cookie, frames, client_counts, fps, seconds, label):
    rows = []
    with Server(kind, {**env, **extra_env}, workdir) as server:
        try:
            took = asyncio.run(warm_up(server.port, cookie, frames[0]))
        except Exception:
            print(Path(server.log.name).read_text(errors="replace")[-3000:], file=sys.stderr)
            raise
        print(f"  {label}: server up, model loaded in {took:.1f} s", file=sys.stderr)
        for n in client_counts:
            row = asyncio.run(run_step(server.port, cookie, frames, n, fps, seconds, server.proc.pid))
            row["label"] = label
            rows.append(row)
            print(
                f"  {label:<28} {n:>3} clients: {row['fps']:6.1f} fps  p50 {row['p50']:7.1f} ms  "
                f"p95 {row['p95']:7.1f} ms  dropped {row['dropped']:>4}  errors {row['errors']:>3}  "
                f"RSS {row['rss']:6.0f} MB  CPU {row['cpu_ms']:5.1f} ms/frame  server-side p50 {row['server_p50']:.0f} ms",
                file=sys.stderr,
                flush=True,
            )
            if row["failures"]:
                print(f"    e.g. {row['failures']}", file=sys.stderr)
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--servers", default="uvicorn,daphne")
    parser.add_argument("--clients", default="1,5,10,20,40")
    parser.add_argument("--baseline-clients", default="1,2,5,10")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--quick", action="store_true", help="uvicorn only, 1 and 20 clients, 5 s, short baseline")
    args = parser.parse_args(argv)
    if args.quick:
        args.servers, args.clients, args.seconds, args.baseline_clients = "uvicorn", "1,20", 5.0, "2,5"
    servers = [s for s in args.servers.split(",") if s]
    counts = [int(c) for c in args.clients.split(",") if c]
    base_counts = [int(c) for c in args.baseline_clients.split(",") if c]

    workdir = Path(tempfile.mkdtemp(prefix="attune-bench-webcam-"))
    try:
        env, cookie = prepare(workdir)
        small = make_frames(320, 240, 70)
        large = make_frames(640, 480, 90)
        print(
            f"frames: 320x240 JPEG ~{sum(map(len, small)) // len(small) // 1024} KB (ours), "
            f"640x480 JPEG ~{sum(map(len, large)) // len(large) // 1024} KB (naive); "
            f"{args.fps:g} fps per client, {args.seconds:g} s per step; cores: {os.cpu_count()}",
            file=sys.stderr,
        )
        rows = []
        for kind in servers:
            rows += bench_server(
                kind, env, FAST_ENV, workdir, cookie, small, counts, args.fps, args.seconds, f"attune / {kind}"
            )
        naive = []
        if not args.no_baseline:
            naive = bench_server(
                servers[0],
                env,
                NAIVE_ENV,
                workdir,
                cookie,
                large,
                base_counts,
                args.fps,
                args.seconds,
                f"naive baseline / {servers[0]}",
            )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    print()
    print(
        "| configuration | clients | frames sent | processed fps | p50 ms | p95 ms | dropped | errors "
        "| server RSS MB | server CPU ms/frame |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in rows + naive:
        print(
            f"| {r['label']} | {r['clients']} | {r['sent']} | {r['fps']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} | "
            f"{r['dropped']} | {r['errors']} | {r['rss']:.0f} | {r['cpu_ms']:.1f} |"
        )
    print()
    for kind in servers:
        twenty = [r for r in rows if r["label"].endswith(kind) and r["clients"] == 20]
        if twenty:
            r = twenty[0]
            ok = r["p95"] <= 150 and r["errors"] == 0
            print(
                f"target, {kind}, 20 clients at {args.fps:g} fps: p95 {r['p95']:.0f} ms (<= 150), errors {r['errors']} "
                f"(0): {'met' if ok else 'NOT met'}"
            )
    if rows:
        peak = max(r["rss"] for r in rows)
        print(f"target, server memory: peak {peak:.0f} MB (<= 1536): {'met' if peak <= 1536 else 'NOT met'}")
    if naive and rows:
        best, base = max(r["fps"] for r in rows), max(r["fps"] for r in naive)
        ratio = best / base if base else float("inf")
        print(
            f"throughput: best {best:.1f} fps (attune) vs {base:.1f} fps (naive baseline, saturated): "
            f"{ratio:.1f}x (target >= 10x): {'met' if ratio >= 10 else 'NOT met'}"
        )
        fast_cpu = statistics.median(r["cpu_ms"] for r in rows)
        naive_cpu = statistics.median(r["cpu_ms"] for r in naive)
        print(
            f"server CPU per processed frame (median over steps): {fast_cpu:.1f} ms (attune) vs {naive_cpu:.1f} ms "
            f"(naive): {naive_cpu / fast_cpu:.1f}x; capacity of {os.cpu_count()} idle cores: "
            f"~{os.cpu_count() * 1000 / fast_cpu:.0f} fps vs ~{os.cpu_count() * 1000 / naive_cpu:.0f} fps"
        )
        fast_p50 = min(r["p50"] for r in rows)
        naive_p50 = min(r["p50"] for r in naive)
        print(
            f"latency, lightest load: p50 {fast_p50:.0f} ms (attune) vs {naive_p50:.0f} ms (naive): "
            f"{naive_p50 / fast_p50:.1f}x"
        )
    print("Measured on a machine shared with other engineers' processes: absolute numbers vary run to run.")


if __name__ == "__main__":
    main()
