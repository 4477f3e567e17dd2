"""Read knowledge YAML files into validated documents, all or nothing per file.

A file with any fault contributes nothing: half an answer set going live is worse than none, and
the editor gets every fault (file, entry, reason) in one pass instead of one per attempt.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import TypeAdapter, ValidationError

from copilot.knowledge.models import Answer, Campaign, KnowledgeDoc

_DOC = TypeAdapter(KnowledgeDoc)

#: Folders of the knowledge tree that hold rules (cues, forbidden phrases), not entries.
RULES_FOLDER = "rules"


@dataclass(frozen=True)
class Fault:
    file: str
    entry: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}: {self.entry}: {self.reason}"


@dataclass
class LoadResult:
    docs: list[Answer | Campaign]
    faults: list[Fault]
    files: int


def knowledge_files(path: Path) -> list[Path]:
    """The entry files under `path` (a file or a folder), in a stable order."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise FileNotFoundError(f"no such file or folder: {path}")
    return sorted(
        p
        for p in path.rglob("*")
        if p.suffix in (".yaml", ".yml") and RULES_FOLDER not in p.relative_to(path).parts[:-1]
    )


def load_path(path: Path) -> LoadResult:
    files = knowledge_files(path)
    per_file: dict[str, list[Answer | Campaign]] = {}
    faults: list[Fault] = []
    for file in files:
        file_docs, file_faults = load_file(file)
        if file_faults:
            faults.extend(file_faults)
        else:
            per_file[str(file)] = file_docs
    clashes = _duplicate_ids(per_file)
    faults.extend(clashes)
    bad = {f.file for f in clashes}
    docs = [doc for file, docs in per_file.items() if file not in bad for doc in docs]
    return LoadResult(docs=docs, faults=faults, files=len(files))


def load_file(file: Path) -> tuple[list[Answer | Campaign], list[Fault]]:
    name = str(file)
    try:
        raw_docs = [
            d for d in yaml.safe_load_all(file.read_text(encoding="utf-8")) if d is not None
        ]
    except UnicodeDecodeError:
        return [], [Fault(name, "-", "not UTF-8 text")]
    except yaml.YAMLError as exc:
        return [], [Fault(name, "-", f"invalid YAML: {_yaml_reason(exc)}")]
    if not raw_docs:
        return [], [Fault(name, "-", "no documents in file")]
    docs: list[Answer | Campaign] = []
    faults: list[Fault] = []
    seen: set[tuple[str, str]] = set()
    for index, raw in enumerate(raw_docs, start=1):
        label = _label(raw, index)
        if not isinstance(raw, dict):
            faults.append(Fault(name, label, "a document must be a mapping"))
            continue
        try:
            doc = _DOC.validate_python(raw)
        except ValidationError as exc:
            faults.extend(Fault(name, label, _pydantic_reason(err)) for err in exc.errors())
            continue
        if (doc.kind, doc.id) in seen:
            faults.append(Fault(name, label, "duplicate id in this file"))
            continue
        seen.add((doc.kind, doc.id))
        docs.append(doc)
    return docs, faults


def _duplicate_ids(per_file: dict[str, list[Answer | Campaign]]) -> list[Fault]:
    """Both files of a clash are rejected: which one the editor meant is not ours to guess."""
    first: dict[tuple[str, str], str] = {}
    faults = []
    for file, docs in per_file.items():
        for doc in docs:
            key = (doc.kind, doc.id)
            if key in first:
                other = first[key]
                faults.append(Fault(file, doc.id, f"duplicate id: also defined in {other}"))
                faults.append(Fault(other, doc.id, f"duplicate id: also defined in {file}"))
            else:
                first[key] = file
    return faults


def _label(raw: object, index: int) -> str:
    if isinstance(raw, dict) and isinstance(raw.get("id"), str):
        return f"#{index} {raw['id']}"
    return f"#{index}"


def _pydantic_reason(err: dict) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("answer", "campaign"))
    msg = err.get("msg", "invalid")
    return f"{loc}: {msg}" if loc else msg


def _yaml_reason(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return f"line {mark.line + 1}: {problem}" if mark else problem
