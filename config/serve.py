"""Serve Attune: N uvicorn worker processes, each listening on its own SO_REUSEPORT socket.

    python -m config.serve --host 0.0.0.0 --port 8000 --workers 2

Why not `uvicorn --workers N`: there the parent binds one socket and every worker accepts
from it; with keep-alive connections the first worker to wake takes most of them (measured:
16 connections split [16], [15, 1], [14, 2]), so one core serves while the other idles. Here
each worker binds the port itself with SO_REUSEPORT and the kernel spreads new connections
over the workers' sockets by a hash of the connection's addresses.

The parent only supervises: a worker that exits (crash, OOM kill, `kill -9`) is started again
after a second; connections it held are reset, and requests it had not answered were never
acknowledged, so clients retry them (the player's outbox does). SIGTERM or SIGINT stops the
workers gracefully (uvicorn finishes in-flight requests) and then the parent.

Linux (and BSD) only: SO_REUSEPORT. Options not listed here come from the environment as for
`uvicorn` (e.g. FORWARDED_ALLOW_IPS).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time

logger = logging.getLogger("attune.serve")

APP = "config.asgi:application"
RESTART_DELAY_S = 1.0
CRASH_LOOP = 5  # workers that die this many times within 10 s of starting stop the server


def listening_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    return sock


def run_worker(args: argparse.Namespace) -> None:
    """One worker process: its own socket, one uvicorn server (HTTP, websockets, lifespan)."""
    import uvicorn

    config = uvicorn.Config(
        APP,
        host=args.host,
        port=args.port,
        lifespan="on",
        ws_max_size=args.ws_max_size,
        proxy_headers=args.proxy_headers,
        forwarded_allow_ips=args.forwarded_allow_ips,
        access_log=args.access_log,
        log_level=args.log_level,
        timeout_keep_alive=args.timeout_keep_alive,
    )
    uvicorn.Server(config).run(sockets=[listening_socket(args.host, args.port)])


def supervise(args: argparse.Namespace, argv: list[str]) -> int:
    command = [sys.executable, "-m", "config.serve", "--one-worker", *argv]
    workers: list[tuple[subprocess.Popen, float]] = []
    stopping = False
    crashes: list[float] = []

    def start() -> tuple[subprocess.Popen, float]:
        return subprocess.Popen(command), time.monotonic()

    def stop(signum, _frame):
        nonlocal stopping
        stopping = True
        for proc, _ in workers:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    workers = [start() for _ in range(args.workers)]
    logger.warning(
        "attune: %d workers on %s:%d (SO_REUSEPORT), pids %s",
        args.workers,
        args.host,
        args.port,
        [p.pid for p, _ in workers],
    )
    while not stopping:
        time.sleep(0.2)
        for i, (proc, started) in enumerate(workers):
            if stopping or proc.poll() is None:
                continue
            now = time.monotonic()
            if now - started < 10:
                crashes.append(now)
            crashes[:] = [t for t in crashes if now - t < 60]
            if len(crashes) >= CRASH_LOOP:
                logger.error("attune: workers keep dying right after start; giving up")
                stop(None, None)
                break
            logger.warning("attune: worker %d exited with %s; starting another", proc.pid, proc.returncode)
            time.sleep(RESTART_DELAY_S)
            workers[i] = start()
    deadline = time.monotonic() + 30
    for proc, _ in workers:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
    return 0 if not crashes or len(crashes) < CRASH_LOOP else 1


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    p.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    p.add_argument("--ws-max-size", type=int, default=1024 * 1024)
    p.add_argument("--proxy-headers", action="store_true")
    p.add_argument("--forwarded-allow-ips", default=None)
    p.add_argument("--access-log", action="store_true")
    p.add_argument("--log-level", default="warning")
    p.add_argument("--timeout-keep-alive", type=int, default=20)
    p.add_argument("--one-worker", action="store_true", help=argparse.SUPPRESS)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.one_worker:
        run_worker(args)
        return 0
    return supervise(args, argv)


if __name__ == "__main__":
    sys.exit(main())
