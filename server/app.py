"""The ASGI application: one Copilot object, its routes, and its lifespan."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from copilot.app import Copilot
from copilot.settings import Settings
from server.auth import role_of
from server.calls_ws import calls_endpoint
from server.knowledge_api import routes as knowledge_routes

STATIC = Path(__file__).resolve().parent / "static"


async def panel_page(request: Request) -> FileResponse:
    """The agent's side panel (static files, no CDN: everything is served from here)."""
    return FileResponse(STATIC / "index.html")


async def editor_page(request: Request) -> FileResponse:
    """The knowledge editors' page (same static approach as the panel)."""
    return FileResponse(STATIC / "editor.html")


async def healthz(request: Request) -> JSONResponse:
    copilot: Copilot = request.app.state.copilot
    health: dict[str, object] = {
        "status": "ok",
        "answers": copilot.retriever.entry_count,
        "suggestion_latency": copilot.latency.summary(),
        # how often a final chunk found its words already searched as an interim hypothesis
        "prefetch": dict(copilot.prefetch),
    }
    if copilot.llm:  # what the LLM was asked, what passed the guard, why the rest did not
        health["llm"] = copilot.llm.stats()
    return JSONResponse(health)


async def call_record(request: Request) -> JSONResponse:
    copilot: Copilot = request.app.state.copilot
    if role_of(request, copilot.settings) is None:
        return _error(401, "unauthorized", "a valid token is required")
    record = await copilot.call_record(request.path_params["call_id"])
    if record is None:
        return _error(404, "unknown_call", "no such call")
    return JSONResponse(record)


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def create_app(settings: Settings, on_ready: Callable[[], None] | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with Copilot(settings) as copilot:
            app.state.copilot = copilot
            watcher = asyncio.create_task(copilot.watch_knowledge())
            # The models, the index and the knowledge live as long as the process: moved out of
            # the collector's sight, a full collection no longer walks them (measured: 145 ms
            # with the event loop stopped, every few thousand chunks, to 0 ms).
            gc.freeze()
            if on_ready is not None:
                on_ready()
            try:
                yield
            finally:
                watcher.cancel()

    return Starlette(
        routes=[
            Route("/", panel_page),
            Route("/editor", editor_page),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            Route("/healthz", healthz),
            Route("/v1/calls/{call_id}", call_record),
            *knowledge_routes,
            WebSocketRoute("/v1/calls", calls_endpoint),
        ],
        lifespan=lifespan,
    )
