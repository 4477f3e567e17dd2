"""Shared fixtures: one real Copilot (real Chroma index, real LangGraph graph) per test session,
and a real server process for end-to-end tests."""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from copilot.app import Copilot
from copilot.evaluation.fake_llm import Reply, echo_approved
from copilot.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
#: Debian's Chromium, driven by Playwright: never a downloaded browser build.
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
needs_chromium = pytest.mark.skipif(
    not Path(CHROMIUM).exists(), reason="Debian chromium is not installed (.ci/run installs it)"
)


def run_copilot(
    *args: str, timeout: float = 300, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """The `copilot` command as an operator runs it (in this environment, or in `env`)."""
    return subprocess.run(
        [sys.executable, "-m", "copilot.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


async def launch_chromium(playwright: Any) -> Any:
    return await playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )


@pytest.fixture(scope="session")
def served_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir as its first `copilot serve` leaves it: the bundled knowledge imported and
    indexed. Built once; tests that need a served data dir but not its first start get a copy
    (`served_copy`), which starts in about half the time (no re-embedding of every entry)."""
    template = tmp_path_factory.mktemp("template")
    ServerProcess(template).start().stop()
    return template


def served_copy(template: Path, target: Path) -> Path:
    shutil.copytree(template, target, dirs_exist_ok=True)
    return target


@pytest.fixture
def data_dir(served_template: Path, tmp_path: Path) -> Path:
    """This test's own copy of the served template."""
    return served_copy(served_template, tmp_path / "data")


@pytest.fixture(scope="session")
async def copilot(
    served_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Copilot]:
    data = served_copy(served_template, tmp_path_factory.mktemp("data"))
    async with Copilot(Settings(data_dir=data)) as app:
        yield app


async def send(ws: Any, message: dict[str, Any]) -> None:
    """One client frame on a real WebSocket."""
    await ws.send(json.dumps(message, ensure_ascii=False))


async def recv(ws: Any, timeout: float = 10) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


def adapted(request: dict[str, Any]) -> Reply:
    """A scripted LLM's faithful rephrasing: the approved answer's first clause, introduced."""
    approved = echo_approved(request).text
    return Reply("您别担心，" + re.split(r"[,，。]", approved)[0] + "。")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerProcess:
    """`copilot serve` in a subprocess, as an operator would start it."""

    def __init__(self, data_dir: Path, env: dict[str, str] | None = None) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.env = {**os.environ, **(env or {})}
        self.proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/calls"

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 90) -> ServerProcess:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "copilot.cli",
                "--data-dir",
                str(self.data_dir),
                "serve",
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.proc.stdout.read()}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"{self.http}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("server did not become healthy")

    def stop(self) -> str:
        assert self.proc is not None
        self.proc.terminate()
        try:
            out, _ = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
        return out


@pytest.fixture(scope="session")
def server(
    served_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    proc = ServerProcess(served_copy(served_template, tmp_path_factory.mktemp("served"))).start()
    yield proc
    proc.stop()
