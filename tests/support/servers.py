"""Running the app for tests: in-process with its lifespan, or as a real uvicorn server."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.types import Receive, Scope, Send


@asynccontextmanager
async def in_process_client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound to the app, with the lifespan run around it."""
    async with in_process_instance(app) as (client, _):
        yield client


@asynccontextmanager
async def in_process_instance(
    app: Starlette,
) -> AsyncIterator[tuple[httpx.AsyncClient, dict[str, Any]]]:
    """``in_process_client`` with the lifespan's state beside it, for a test to look inside."""
    async with app.router.lifespan_context(app) as state:

        async def with_state(scope: Scope, receive: Receive, send: Send) -> None:
            scope["state"] = dict(state or {})
            await app(scope, receive, send)

        transport = httpx.ASGITransport(app=with_state)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as client:
            yield client, dict(state or {})


def free_port() -> int:
    """A loopback port free now, for a server that binds it later (a subprocess, say).

    Chosen below the kernel's ephemeral range, which outgoing connections take their local
    ports from: a port from that range could become the local end of any test's connection
    before the server binds it. Only another test choosing the same port can still take it,
    which choosing at random makes unlikely.
    """
    for _ in range(100):
        port = random.randrange(_LOWEST_PORT, _ephemeral_start())
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free loopback port below the ephemeral range")


_LOWEST_PORT = 10_000
_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")


def _ephemeral_start() -> int:
    """Where the kernel's ephemeral ports begin (Linux's default where it does not say), or
    some room above the lowest port chosen where they begin lower still."""
    try:
        start = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        start = 32_768
    return max(start, _LOWEST_PORT + 1_024)


@asynccontextmanager
async def live_server(app: Starlette, **options: Any) -> AsyncIterator[str]:
    """Serve the app with uvicorn (and these ``uvicorn.Config`` options) on a loopback port;
    yields the base URL.

    The listening socket is bound here and handed to uvicorn, so the port is held from the
    moment it is chosen: a port chosen free and bound later could meanwhile become the local
    end of any test's outgoing connection, and the server would fail to start.

    The socket is made as TCP by name, as uvicorn makes its own: asyncio turns Nagle's algorithm
    off only on connections of such a listener, and with it on, a response written in two
    parts waits for the client's delayed acknowledgement (40 ms) between them.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP) as listener:
        listener.bind(("127.0.0.1", 0))
        port = int(listener.getsockname()[1])
        config = uvicorn.Config(
            app, host="127.0.0.1", port=port, log_config=None, lifespan="on", **options
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve(sockets=[listener]))
        try:
            while not server.started:
                if task.done():
                    task.result()
                await asyncio.sleep(0.01)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            await task


@contextmanager
def gateway_serve(env: Mapping[str, str], *args: str) -> Iterator[str]:
    """``gateway serve`` (with ``args``) in a process of its own on a free port, configured by
    ``env`` alone among GATEWAY_ variables; yields its base URL once it answers, and stops it
    as Ctrl-C would."""
    port = free_port()
    outside = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway", "serve", "--port", str(port), *args],
        env={**outside, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_until_answering(f"{base}/healthz", process)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def _wait_until_answering(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, "gateway serve stopped"
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, "gateway serve never answered"
            time.sleep(0.2)
