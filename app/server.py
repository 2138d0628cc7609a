"""Serving with one or several worker processes.

`uvicorn --workers N` binds its socket with protocol 0, accepted sockets inherit it and asyncio then
leaves Nagle's algorithm on: every keep-alive request after the first waits ~40 ms for a delayed ACK
(uvicorn issue #3149). We bind the socket ourselves with IPPROTO_TCP, so that asyncio sets TCP_NODELAY
on every accepted connection, and hand it to uvicorn's supervisor.
"""

import gc
import socket

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from app.main import create_app

APP = "app.server:serving_app"


def serving_app() -> FastAPI:
    """The application as a worker process serves it, with the garbage collector tuned for serving.

    A full collection walks every object of the process (SQLAlchemy, Pydantic and FastAPI keep hundreds
    of thousands alive) and stalled requests for 100 ms and more: that was the whole p99 of order
    capture. What exists once the application is built lives as long as the process, so it is frozen
    out of the collector's reach, and young-generation collections are made rarer.
    """
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


def serve(*, host: str, port: int, workers: int) -> None:
    config = uvicorn.Config(
        APP,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_level="warning",
        server_header=False,
        backlog=2048,
    )
    server = uvicorn.Server(config)
    sock = tcp_socket(host, port, config.backlog)
    if workers <= 1:
        server.run(sockets=[sock])
    else:
        Multiprocess(config, sockets=[sock]).run()
