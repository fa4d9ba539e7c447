"""An open-loop HTTP load generator: requests leave at a fixed rate, evenly spaced.

`hey -q` paces each connection with its own ticker, and the tickers start together, so
"500 req/s over 50 connections" arrives as a burst of 50 requests every 100 ms: latency
then measures the burst, not the server. Here request i is due at start + i / rate; it
goes out on a free keep-alive connection (a new one is opened when all are busy, up to a
cap) and its latency runs from when it was due, so a slow server cannot hide its queue
("coordinated omission"). A plain asyncio protocol keeps the generator's own CPU cost low:
it shares the two cores with the server it measures.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass
class LoadResult:
    """What happened: how many were sent and answered, by status, and the latencies."""

    rate: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    statuses: collections.Counter = field(default_factory=collections.Counter)
    failures: int = 0  # connection errors and requests left unanswered

    @property
    def throughput(self) -> float:
        return len(self.latencies_ms) / self.seconds

    @property
    def errors(self) -> int:
        return self.failures + sum(n for status, n in self.statuses.items() if status >= 300)

    def percentile_ms(self, share: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


class _Connection(asyncio.Protocol):
    """One keep-alive connection: one request in flight at a time."""

    def __init__(self, generator: _Generator) -> None:
        self.generator = generator
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.due: float | None = None  # when the request in flight was due

    def connection_made(self, transport) -> None:
        self.transport = transport

    def send(self, due: float) -> None:
        self.due = due
        self.transport.write(self.generator.request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buffer[:end]).decode("latin-1").split("\r\n")
        length = 0
        for line in head[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if len(self.buffer) < end + 4 + length:
            return
        del self.buffer[: end + 4 + length]
        status = int(head[0].split()[1])
        due, self.due = self.due, None
        self.generator.answered(self, status, due)

    def connection_lost(self, exc) -> None:
        self.generator.lost(self)


class _Generator:
    def __init__(self, url: str, body: bytes, rate: int, seconds: float, max_connections: int):
        parts = urlsplit(url)
        self.host, self.port = parts.hostname, parts.port or 80
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.request = (
            f"POST {path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        self.rate, self.seconds, self.max_connections = rate, seconds, max_connections
        self.result = LoadResult(rate, seconds)
        self.idle: list[_Connection] = []
        self.open = 0
        self.waiting: collections.deque[float] = collections.deque()  # due times
        self.in_flight = 0

    async def run(self) -> LoadResult:
        loop = asyncio.get_running_loop()
        total = int(self.rate * self.seconds)
        start = loop.time() + 0.05
        for i in range(total):
            due = start + i / self.rate
            # Always yield: answers are read while we wait for the next due time.
            await asyncio.sleep(max(0.0, due - loop.time()))
            self.waiting.append(due)
            self.in_flight += 1
            self._dispatch(loop)
        deadline = loop.time() + 15
        while self.in_flight and loop.time() < deadline:
            await asyncio.sleep(0.01)
        self.result.failures += self.in_flight
        for connection in self.idle:
            connection.transport.close()
        return self.result

    def _dispatch(self, loop) -> None:
        while self.waiting and self.idle:
            self.idle.pop().send(self.waiting.popleft())
        if self.waiting and self.open < self.max_connections:
            self.open += 1
            loop.create_task(self._connect(loop))

    async def _connect(self, loop) -> None:
        try:
            _transport, connection = await loop.create_connection(
                lambda: _Connection(self), self.host, self.port
            )
        except OSError:
            self.open -= 1
            if self.waiting:
                self.waiting.popleft()
                self.in_flight -= 1
                self.result.failures += 1
            return
        self.idle.append(connection)
        self._dispatch(loop)

    def answered(self, connection: _Connection, status: int, due: float) -> None:
        loop = asyncio.get_running_loop()
        self.result.latencies_ms.append((loop.time() - due) * 1000)
        self.result.statuses[status] += 1
        self.in_flight -= 1
        self.idle.append(connection)
        self._dispatch(loop)

    def lost(self, connection: _Connection) -> None:
        self.open -= 1
        if connection in self.idle:
            self.idle.remove(connection)
        if connection.due is not None:  # the server closed it with a request in flight
            self.in_flight -= 1
            self.result.failures += 1


def fire(url: str, rate: int, seconds: float, body: bytes = b'{"patient": {"id": 42}}',
         max_connections: int = 256) -> LoadResult:  # fmt: skip
    """POST `body` to `url` at `rate` requests per second for `seconds`."""
    started = time.perf_counter()
    result = asyncio.run(_Generator(url, body, rate, seconds, max_connections).run())
    result.seconds = max(seconds, time.perf_counter() - started - 0.05)
    return result
