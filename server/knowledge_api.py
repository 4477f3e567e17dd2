"""The knowledge HTTP API (contract §3): editors write drafts, approvers approve, all read.

Errors are `{"error": {"code", "message"}}` with a 4xx status and change nothing. An approval or a
retirement is applied to the live index before the response returns, so running calls use it at
once; other server processes notice it through the store's change mark.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from copilot.app import Copilot
from copilot.knowledge.models import Answer, Campaign
from copilot.knowledge.store import Kind, StoreError, Version, diff
from copilot.retrieval.retriever import entry_threshold
from copilot.retrieval.text import plain
from copilot.settings import Role
from server.auth import role_of

WRITE: tuple[Role, ...] = ("editor", "admin")
APPROVE: tuple[Role, ...] = ("approver", "admin")
_KINDS: dict[str, tuple[Kind, type[Answer] | type[Campaign]]] = {
    "answers": ("answer", Answer),
    "campaigns": ("campaign", Campaign),
}


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code = status, code


def error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


def actor(request: Request, allowed: tuple[Role, ...] | None = None) -> str:
    """Who is calling: role plus a digest of the token (never the token itself)."""
    copilot: Copilot = request.app.state.copilot
    role = role_of(request, copilot.settings)
    if role is None:
        raise ApiError(401, "unauthorized", "a valid token is required")
    if allowed is not None and role not in allowed:
        raise ApiError(403, "forbidden", f"the {role} role cannot do this")
    if copilot.settings.open_access:  # loopback development: people name themselves
        return request.headers.get("x-copilot-user", "local")
    header = request.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    token = token or request.query_params.get("token", "")
    return f"{role}-{hashlib.sha256(token.encode()).hexdigest()[:10]}"


def _kind(request: Request) -> tuple[Kind, type[Answer] | type[Campaign]]:
    return _KINDS[request.path_params["kinds"]]


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise ApiError(400, "invalid_json", "the body must be JSON") from None
    if not isinstance(body, dict):
        raise ApiError(400, "bad_request", "the body must be a JSON object")
    return body


def _validate(model: type[Answer] | type[Campaign], data: dict[str, Any]) -> Answer | Campaign:
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise ApiError(422, "invalid", problems) from None


_AMOUNT = re.compile(r"(\d+(?:\.\d+)?)\s*(?:元|块)")


async def _gates(copilot: Copilot, doc: Answer | Campaign) -> list[dict[str, Any]]:
    """Refuse wording the norms forbid or a fee the product's tiers contradict; flag phrasings
    that already find another entry."""
    if isinstance(doc, Campaign):
        product = doc.product
        if product and product.fee and product.tiers:
            tiers = {a for tier in product.tiers for a in _AMOUNT.findall(tier)}
            stray = [a for a in _AMOUNT.findall(product.fee) if a not in tiers]
            if stray:
                raise ApiError(
                    422,
                    "fee_mismatch",
                    f"product.fee: {', '.join(stray)}元 is not a price of any tier "
                    f"({'; '.join(product.tiers)})",
                )
        return []
    for pattern, rule in copilot.checker.rules.forbidden:
        if pattern.search(plain(doc.answer)):
            raise ApiError(
                422, "forbidden_phrase", f"answer: contains forbidden wording ({rule.source})"
            )
    return await _conflicts(copilot, doc)


async def _conflicts(copilot: Copilot, doc: Answer) -> list[dict[str, Any]]:
    conflicts = []
    for question in doc.questions:
        for hit in await copilot.retriever.asearch(
            question, doc.direction if doc.direction != "both" else "outbound", limit=1
        ):
            if hit.answer.id != doc.id and hit.score >= copilot.settings.answer_threshold + 0.15:
                conflicts.append(
                    {"question": question, "entry": hit.answer.id, "score": round(hit.score, 3)}
                )
    return conflicts


def _entry_json(versions: list[Version]) -> dict[str, Any]:
    approved = [v for v in versions if v.status == "approved"]
    drafts = [
        v
        for v in versions
        if v.status == "draft" and (not approved or v.version > approved[-1].version)
    ]
    latest = versions[-1]
    return {
        "id": latest.body["id"],
        "status": latest.status,
        "latest_version": latest.version,
        "approved": approved[-1].as_dict() if approved and latest.status != "retired" else None,
        "drafts": [d.as_dict() for d in drafts],
    }


async def preview(request: Request) -> JSONResponse:
    """For each phrasing of an entry being edited: what the live index answers with today."""
    actor(request)
    copilot: Copilot = request.app.state.copilot
    body = await _body(request)
    questions = [q for q in body.get("questions", []) if isinstance(q, str) and q.strip()]
    direction = (
        body.get("direction") if body.get("direction") in ("inbound", "outbound") else "outbound"
    )
    rows = []
    for question in questions:
        hits = await copilot.retriever.asearch(question, direction, limit=1)
        top = hits[0] if hits else None
        rows.append(
            {
                "question": question,
                "entry": top.answer.id if top else None,
                "score": round(top.score, 3) if top else None,
                "answered": bool(
                    top
                    and top.score
                    >= entry_threshold(copilot.settings.answer_threshold, len(top.answer.questions))
                ),
                "this_entry": bool(top and top.answer.id == body.get("id")),
            }
        )
    return JSONResponse({"items": rows})


def _existing_versions(request: Request) -> list[Version]:
    kind, _ = _kind(request)
    copilot: Copilot = request.app.state.copilot
    versions = copilot.store.versions(kind, request.path_params["id"])
    if not versions:
        raise ApiError(404, "not_found", "no such entry")
    return versions


async def list_entries(request: Request) -> JSONResponse:
    actor(request)
    kind, _ = _kind(request)
    copilot: Copilot = request.app.state.copilot
    found = copilot.store.search(
        kind, request.query_params.get("q", ""), request.query_params.get("status", "")
    )
    return JSONResponse({"items": [v.as_dict() for v in found]})


async def get_entry(request: Request) -> JSONResponse:
    actor(request)
    versions = _existing_versions(request)
    return JSONResponse(_entry_json(versions))


async def create_entry(request: Request) -> JSONResponse:
    who = actor(request, WRITE)
    kind, model = _kind(request)
    copilot: Copilot = request.app.state.copilot
    doc = _validate(model, {**await _body(request), "kind": kind})
    conflicts = await _gates(copilot, doc)
    version = await asyncio.to_thread(copilot.store.create, doc, who)
    return JSONResponse({**version.as_dict(), "conflicts": conflicts}, status_code=201)


async def update_entry(request: Request) -> JSONResponse:
    who = actor(request, WRITE)
    kind, model = _kind(request)
    copilot: Copilot = request.app.state.copilot
    body = await _body(request)
    base = body.pop("base_version", None)
    if not isinstance(base, int):
        raise ApiError(422, "invalid", "base_version: required (the version you edited)")
    doc = _validate(model, {**body, "kind": kind, "id": request.path_params["id"]})
    conflicts = await _gates(copilot, doc)
    version = await asyncio.to_thread(copilot.store.update, doc, who, base)
    return JSONResponse({**version.as_dict(), "conflicts": conflicts})


async def approve_entry(request: Request) -> JSONResponse:
    return await _transition(request, "approve")


async def retire_entry(request: Request) -> JSONResponse:
    return await _transition(request, "retire")


async def _transition(request: Request, action: str) -> JSONResponse:
    who = actor(request, APPROVE)
    kind, _ = _kind(request)
    copilot: Copilot = request.app.state.copilot
    store_call = copilot.store.approve if action == "approve" else copilot.store.retire
    version = await asyncio.to_thread(store_call, kind, request.path_params["id"], who)
    await asyncio.to_thread(copilot.refresh_knowledge)  # live before we answer
    return JSONResponse(version.as_dict())


async def rollback_entry(request: Request) -> JSONResponse:
    who = actor(request, WRITE)
    kind, _ = _kind(request)
    body = await _body(request)
    to_version = body.get("version")
    if not isinstance(to_version, int):
        raise ApiError(422, "invalid", "version: required (the version to roll back to)")
    copilot: Copilot = request.app.state.copilot
    version = await asyncio.to_thread(
        copilot.store.rollback, kind, request.path_params["id"], to_version, who
    )
    return JSONResponse(version.as_dict())


async def entry_history(request: Request) -> JSONResponse:
    actor(request)
    versions = _existing_versions(request)
    history = []
    previous: dict[str, Any] | None = None
    for v in versions:
        history.append(
            {
                "version": v.version,
                "status": v.status,
                "author": v.author,
                "created_at": v.created_at,
                "approved_by": v.approved_by,
                "approved_at": v.approved_at,
                "changes": diff(previous, v.body),
            }
        )
        previous = v.body
    return JSONResponse({"id": request.path_params["id"], "versions": history})


def _guard(handler):
    async def wrapped(request: Request) -> JSONResponse:
        try:
            return await handler(request)
        except ApiError as exc:
            return error(exc.status, exc.code, str(exc))
        except StoreError as exc:
            return error(exc.status, exc.code, str(exc))

    return wrapped


_BASE = "/v1/knowledge/{kinds:str}"
routes = [
    Route("/v1/knowledge/answers/preview", _guard(preview), methods=["POST"]),
    Route(_BASE, _guard(list_entries), methods=["GET"]),
    Route(_BASE, _guard(create_entry), methods=["POST"]),
    Route(_BASE + "/{id}", _guard(get_entry), methods=["GET"]),
    Route(_BASE + "/{id}", _guard(update_entry), methods=["PUT"]),
    Route(_BASE + "/{id}/approve", _guard(approve_entry), methods=["POST"]),
    Route(_BASE + "/{id}/retire", _guard(retire_entry), methods=["POST"]),
    Route(_BASE + "/{id}/rollback", _guard(rollback_entry), methods=["POST"]),
    Route(_BASE + "/{id}/history", _guard(entry_history), methods=["GET"]),
]
