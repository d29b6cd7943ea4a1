"""The bus of a fleet: Redis pub/sub on one channel that every instance subscribes to.

Publishing never waits on Redis: messages go to a bounded outbox, and one task sends what
has gathered in one pipeline. When Redis is down, the messages of that moment are lost
(counted in ``lost``) and the gateway goes on; an outbox that fills drops the newest
(``dropped``). The listener reconnects by itself, and after every (re)subscription runs the
gap handlers, since what was published while it was away is gone: pub/sub keeps nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.exceptions import RedisError

from integrations.bus.envelope import Envelope
from integrations.bus.handlers import Handlers

log = logging.getLogger("gateway.bus")

OUTBOX_SIZE = 10_000
BATCH = 500
RECONNECT_SECONDS = 1.0
POLL_SECONDS = 5.0
"""How long the listener waits for a message before checking its connection again."""
TIMEOUT_SECONDS = 2.0


class RedisBus(Handlers):
    """Instances on one Redis, hearing each other on ``channel``::

    bus = RedisBus("redis://redis:6379/0", channel="gateway:events")
    bus.subscribe("merchant.changed", forget_merchant)
    await bus.start()
    """

    def __init__(self, url: str, *, channel: str, outbox_size: int = OUTBOX_SIZE) -> None:
        super().__init__()
        self.origin = uuid.uuid4().hex
        self.channel = channel
        self._publisher = Redis.from_url(
            url, socket_timeout=TIMEOUT_SECONDS, socket_connect_timeout=TIMEOUT_SECONDS
        )
        self._listener = Redis.from_url(
            url,
            client_name=f"gateway-bus-{self.origin}",
            socket_connect_timeout=TIMEOUT_SECONDS,
            socket_keepalive=True,
            health_check_interval=POLL_SECONDS,
        )
        self._outbox: asyncio.Queue[bytes] = asyncio.Queue(outbox_size)
        self._subscribed = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.lost = 0
        self.dropped = 0

    def publish(self, topic: str, data: Mapping[str, str]) -> None:
        try:
            self._outbox.put_nowait(Envelope(self.origin, topic, dict(data)).encode())
        except asyncio.QueueFull:
            self.dropped += 1
            log.warning("bus outbox full: message dropped", extra={"topic": topic})

    async def start(self, *, wait: float = TIMEOUT_SECONDS) -> None:
        """Subscribe, waiting up to ``wait`` seconds; without Redis the app serves anyway, and
        its caches hold changes made elsewhere for their time to live."""
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._send())]
        try:
            async with asyncio.timeout(wait):
                await self._subscribed.wait()
        except TimeoutError:
            log.error("bus not subscribed yet; serving, and retrying", extra={"wait": wait})

    async def close(self, *, grace: float = TIMEOUT_SECONDS) -> None:
        """Send what is queued (waiting at most ``grace`` seconds), then stop."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(grace):
                await self._outbox.join()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self._publisher.aclose()
        await self._listener.aclose()

    def health(self) -> tuple[bool, object]:
        """Healthy either way: without the bus, caches still expire, and rate limits and the
        database do not depend on it; the detail says what is missing."""
        state = "subscribed" if self._subscribed.is_set() else "not subscribed"
        counts = f"{self.delivered} heard, {self.lost} lost, {self.dropped} dropped"
        return True, f"redis {state}; {counts}"

    async def _send(self) -> None:
        while True:
            batch = [await self._outbox.get()]
            while len(batch) < BATCH and not self._outbox.empty():
                batch.append(self._outbox.get_nowait())
            try:
                async with self._publisher.pipeline(transaction=False) as pipe:
                    for message in batch:
                        pipe.publish(self.channel, message)
                    await pipe.execute()
            except Exception as exc:  # the sender must outlive any failure
                self.lost += len(batch)
                extra = {"lost": len(batch), "error": str(exc)}
                log.warning("bus publish failed: messages lost", extra=extra, exc_info=_odd(exc))
            finally:
                for _ in batch:
                    self._outbox.task_done()

    async def _listen(self) -> None:
        while True:
            try:
                async with self._listener.pubsub() as pubsub:
                    await pubsub.subscribe(self.channel)
                    await self._hear(pubsub)
            except Exception as exc:  # the listener must outlive any failure
                if self._subscribed.is_set() or _odd(exc):
                    extra = {"error": str(exc)}
                    log.warning("bus disconnected; reconnecting", extra=extra, exc_info=_odd(exc))
                self._subscribed.clear()
            await asyncio.sleep(RECONNECT_SECONDS)

    async def _hear(self, pubsub: PubSub) -> None:
        while True:
            message = await pubsub.get_message(timeout=POLL_SECONDS)
            if message is None:
                continue
            if message["type"] == "subscribe":
                self.gap()
                self._subscribed.set()
            elif message["type"] == "message":
                envelope = Envelope.decode(message["data"])
                if envelope is None:
                    log.warning("bus message not understood; dropped")
                elif envelope.origin != self.origin:
                    await self.deliver(envelope)


def _odd(exc: Exception) -> bool:
    """Not Redis being away: worth a traceback."""
    return not isinstance(exc, RedisError | OSError)
