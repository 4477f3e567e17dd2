"""Call watchers: side panels that follow a call another client (the telephony bridge) streams.

In-process publish/subscribe, bounded per watcher so a stalled panel never slows a call: when a
watcher's queue is full its oldest message is dropped (the panel resynchronises on reconnect).
Several server instances would put this behind PostgreSQL LISTEN/NOTIFY with the same interface.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import Any

QUEUE_LIMIT = 1000


class Watchers:
    def __init__(self) -> None:
        self._queues: dict[str, set[asyncio.Queue[dict[str, Any]]]] = defaultdict(set)

    def subscribe(self, call_id: str) -> asyncio.Queue[dict[str, Any]]:
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_LIMIT)
        self._queues[call_id].add(queue)
        return queue

    def unsubscribe(self, call_id: str, queue: asyncio.Queue[dict[str, Any]]) -> None:
        self._queues[call_id].discard(queue)
        if not self._queues[call_id]:
            del self._queues[call_id]

    def publish(self, call_id: str, message: dict[str, Any]) -> None:
        for queue in self._queues.get(call_id, ()):
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(message)
