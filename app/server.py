"""Serving with one or several worker processes.

`uvicorn --workers N` binds its socket with protocol 0, accepted sockets inherit it and asyncio then
leaves Nagle's algorithm on: every keep-alive request after the first waits ~40 ms for a delayed ACK
(uvicorn issue #3149). We bind the socket ourselves with IPPROTO_TCP, so that asyncio sets TCP_NODELAY
on every accepted connection, and hand it to uvicorn's supervisor.

Every process logs through app/logs.py (uvicorn's own loggers included); the supervisor says where it
listens. Worker processes keep their request latency in a directory made for this run, which any of
them reads to answer `GET /metrics` for all (app/metrics.py).
"""

import gc
import logging
import os
import shutil
import socket
import tempfile

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from app.config import get_settings
from app.logs import configure_logging
from app.main import create_app
from app.metrics import MULTIPROCESS_DIR

APP = "app.server:serving_app"


def serving_app() -> FastAPI:
    """The application as a worker process serves it, with the garbage collector tuned for serving.

    A full collection walks every object of the process (SQLAlchemy, Pydantic and FastAPI keep hundreds
    of thousands alive) and stalled requests for 100 ms and more: that was the whole p99 of order
    capture. What exists once the application is built lives as long as the process, so it is frozen
    out of the collector's reach, and young-generation collections are made rarer.
    """
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    app = create_app()
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    return app


def tcp_socket(host: str, port: int, backlog: int = 2048) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


def listening_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def serve(*, host: str, port: int, workers: int) -> None:
    settings = get_settings()
    configure_logging(log_format=settings.log_format, level=settings.log_level)
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,  # app/logs.py writes the access lines
        log_config=None,  # uvicorn's loggers go through the root logger configured above
        log_level="warning",
        server_header=False,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    sock = tcp_socket(host, port, config.backlog)
    url = listening_url(sock)
    logging.getLogger("carnet.server").info(
        f"Carnet listening on {url} ({workers} worker process{'es' if workers > 1 else ''})",
        extra={"fields": {"url": url, "workers": workers}},
    )
    if workers <= 1:
        server.run(sockets=[sock])
        return
    metrics_dir = tempfile.mkdtemp(prefix="carnet-metrics-")
    os.environ[MULTIPROCESS_DIR] = metrics_dir  # inherited by the worker processes it spawns
    try:
        Multiprocess(config, sockets=[sock]).run()
    finally:
        shutil.rmtree(metrics_dir, ignore_errors=True)
