"""Serving with one or several worker processes.

`uvicorn --workers N` binds its socket with protocol 0, accepted sockets inherit it and asyncio then
leaves Nagle's algorithm on: every keep-alive request after the first waits ~40 ms for a delayed ACK
(uvicorn issue #3149). We bind the socket ourselves with IPPROTO_TCP, so that asyncio sets TCP_NODELAY
on every accepted connection, and hand it to uvicorn's supervisor.
"""

import socket

import uvicorn
from uvicorn.supervisors import Multiprocess

APP = "app.main:create_app"


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
        backlog=2048,
    )
    server = uvicorn.Server(config)
    sock = tcp_socket(host, port, config.backlog)
    if workers <= 1:
        server.run(sockets=[sock])
    else:
        Multiprocess(config, sockets=[sock]).run()
