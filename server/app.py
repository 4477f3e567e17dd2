"""The ASGI application: one Copilot object, its routes, and its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute

from copilot.app import Copilot
from copilot.settings import Settings
from server.calls_ws import calls_endpoint


async def healthz(request: Request) -> JSONResponse:
    copilot: Copilot = request.app.state.copilot
    return JSONResponse({"status": "ok", "answers": copilot.retriever.entry_count})


def create_app(settings: Settings, on_ready: Callable[[], None] | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Copilot(settings) as copilot:
            app.state.copilot = copilot
            if on_ready is not None:
                on_ready()
            yield

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            WebSocketRoute("/v1/calls", calls_endpoint),
        ],
        lifespan=lifespan,
    )
