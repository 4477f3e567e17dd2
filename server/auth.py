"""Bearer tokens (contract §1): `Authorization: Bearer T`, or `?token=T` for browsers."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from copilot.settings import Role, Settings


def role_of(conn: HTTPConnection, settings: Settings) -> Role | None:
    """The caller's role; with no tokens configured everyone is admin (loopback-only then)."""
    if settings.open_access:
        return "admin"
    header = conn.headers.get("authorization", "")
    token = header[7:].strip() if header.lower().startswith("bearer ") else None
    token = token or conn.query_params.get("token")
    return settings.tokens.get(token) if token else None
