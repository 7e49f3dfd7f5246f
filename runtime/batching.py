"""Opportunistic micro-batching on one dedicated thread, for work that is cheaper in bulk.

Why: some steps of every interaction cost far less per item when done for many at once (an
encoder forward pass over a padded batch, one database transaction for many rows), and a busy
worker has dozens of interactions reaching them at the same moment. A request that arrives
while the thread is busy waits for the current pass and then rides along with everything else
that arrived meanwhile. There is no timer: an idle worker handles a lone request at once, so
batching adds no latency, only throughput under load. One thread also means one caller of the
underlying resource (one OpenMP team for torch, one writer for SQLite).

A failed batch is retried item by item, so one bad request fails alone. A request whose caller
stopped waiting before its pass began (a cancelled activity, a prefetch whose turn was refused)
is skipped: work nobody reads costs nothing.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

In = TypeVar("In")
Out = TypeVar("Out")


@dataclass
class _Request(Generic[In, Out]):
    item: In
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[Out]


def _settle(future: asyncio.Future[Out], result: Out | BaseException) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if isinstance(result, BaseException):
        future.set_exception(result)
    else:
        future.set_result(result)


class MicroBatcher(Generic[In, Out]):
    """``await submit(item)`` from any event loop; ``close()`` once when done.

    ``process_batch`` gets the items of one pass and returns their results in order (an
    exception in place of a result fails that item alone, with no retry);
    ``process_one`` handles a lone item and the item-by-item retry of a failed batch.
    """

    def __init__(
        self,
        name: str,
        process_batch: Callable[[Sequence[In]], Sequence[Out | BaseException]],
        process_one: Callable[[In], Out],
        max_batch: int,
    ) -> None:
        self.name = name
        self.process_batch = process_batch
        self.process_one = process_one
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Request[In, Out] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closed = False
        self.passes = 0
        """Passes run so far; with ``items`` it tells how much batching happened."""
        self.items = 0
        self.skipped = 0
        """Requests dropped unprocessed because their caller had stopped waiting."""

    async def submit(self, item: In) -> Out:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Out] = loop.create_future()
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.name} is closed")
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
                self._thread.start()
            self._queue.put(_Request(item, loop, future))
        return await future

    def close(self) -> None:
        """Finish what is queued, then stop the thread (blocking; call off the event loop)."""
        with self._lock:
            self._closed = True
            thread = self._thread
            if thread is not None:
                self._queue.put(None)
        if thread is not None:
            thread.join()

    def _serve(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < self.max_batch:
                try:
                    request = self._queue.get_nowait()
                except queue.Empty:
                    break
                if request is None:
                    stop = True
                    break
                batch.append(request)
            waited = [request for request in batch if not request.future.done()]
            self.skipped += len(batch) - len(waited)
            if waited:
                self._run(waited)
            if stop:
                return

    def _run(self, batch: list[_Request[In, Out]]) -> None:
        self.passes += 1
        self.items += len(batch)
        results: list[Out | BaseException]
        try:
            if len(batch) == 1:
                results = [self.process_one(batch[0].item)]
            else:
                results = list(self.process_batch([r.item for r in batch]))
                if len(results) != len(batch):
                    raise RuntimeError(f"{self.name}: {len(results)} results for {len(batch)}")
        except Exception:
            results = []
            for request in batch:
                try:
                    results.append(self.process_one(request.item))
                except Exception as exc:  # handed to that request's caller
                    results.append(exc)
        for request, result in zip(batch, results, strict=True):
            try:
                request.loop.call_soon_threadsafe(_settle, request.future, result)
            except RuntimeError:  # that caller's loop has closed; nobody is waiting
                continue
