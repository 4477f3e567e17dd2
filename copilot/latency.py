"""How long the agent waited: frame received → its suggestion sent, over the recent chunks.

Kept by the server and shown on `/healthz`, so operations see the figure the agent lives with
(the benchmark's client-side timing adds its own event loop and the loopback on top).
"""

from __future__ import annotations

from collections import deque


class LatencyWindow:
    """The last `size` measurements, in milliseconds; summaries are computed when asked."""

    def __init__(self, size: int = 10_000) -> None:
        self._ms: deque[float] = deque(maxlen=size)
        self.total = 0

    def record(self, seconds: float) -> None:
        self._ms.append(seconds * 1e3)
        self.total += 1

    def summary(self) -> dict[str, float | int | None]:
        return {"count": self.total, "window": len(self._ms), **summarise(list(self._ms))}


def summarise(ms: list[float]) -> dict[str, float | None]:
    """p50, p95 (nearest rank) and max of some latencies in milliseconds; the benchmark's
    client-side figures use the same rule."""
    values = sorted(ms)
    if not values:
        return {"p50_ms": None, "p95_ms": None, "max_ms": None}
    return {
        "p50_ms": round(values[int(0.5 * (len(values) - 1))], 2),
        "p95_ms": round(values[int(0.95 * (len(values) - 1))], 2),
        "max_ms": round(values[-1], 2),
    }
