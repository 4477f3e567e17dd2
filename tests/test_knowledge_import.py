"""The importer: every fault reported with file, entry and reason; nothing of a bad file lands."""

from __future__ import annotations

from pathlib import Path

from copilot.knowledge.loader import load_path
from copilot.knowledge.store import SqliteKnowledgeStore
from copilot.settings import BUNDLED_KNOWLEDGE
from tests.conftest import run_copilot

GOOD = """\
kind: answer
id: kb-test-good
title: 测试
questions: [你们几点下班]
answer: 我们全天为您服务。
source: test
---
kind: campaign
id: test-campaign
name: 测试活动
type: service
"""

BAD = """\
kind: answer
id: kb-test-ok-in-bad-file
title: 测试
questions: [这个能导入吗]
answer: 不能。
source: test
---
kind: answer
id: Bad_Id
title: 测试
questions: []
answer: x
direction: sideways
source: test
---
kind: answer
id: kb-test-self-linked
title: 测试
questions: [这条链接自己]
answer: 不行。
source: test
related: [kb-test-self-linked]
"""


def test_bundled_knowledge_is_valid_and_covers_the_seeds() -> None:
    result = load_path(BUNDLED_KNOWLEDGE)
    assert result.faults == []
    answers = [d for d in result.docs if d.kind == "answer"]
    campaigns = {d.id: d for d in result.docs if d.kind == "campaign"}
    assert len(answers) >= 80
    assert all(len(a.questions) >= 5 for a in answers if "silent" not in a.id)
    assert {"ringback-box", "gprs-pack", "satisfaction-survey"} <= campaigns.keys()
    assert campaigns["satisfaction-survey"].type == "service"
    ids = {a.id for a in answers}
    for a in answers:  # a dangling link is skipped at run time; in the bundle it is a typo
        assert set(a.related) <= ids, a.id


def test_bundled_answers_are_verbatim_seed_wording() -> None:
    seeds = Path(__file__).resolve().parents[2] / "shared" / "seeds"
    if not seeds.is_dir():  # the seeds live beside the repo; CI and developers have them
        return
    texts = {p.name: "".join(p.read_text(encoding="utf-8").split()) for p in seeds.glob("*.txt")}
    for doc in load_path(BUNDLED_KNOWLEDGE).docs:
        if doc.kind != "answer":
            continue
        seed = texts[doc.source.split()[0]].replace("•", "")
        wording = "".join(doc.answer.split())
        assert wording.replace(" ", "") in seed.replace(" ", ""), doc.id


def test_no_outbound_only_wording_is_served_inbound() -> None:
    for doc in load_path(BUNDLED_KNOWLEDGE).docs:
        if doc.kind == "answer" and doc.direction != "outbound":
            assert "外呼坐席" not in doc.answer, doc.id


def test_bad_file_reports_every_fault_and_imports_nothing(tmp_path: Path) -> None:
    (tmp_path / "good.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "broken.yaml").write_text("kind: answer\nid: [unclosed\n", encoding="utf-8")
    result = load_path(tmp_path)
    assert {d.id for d in result.docs} == {"kb-test-good", "test-campaign"}
    faults = {
        (Path(f.file).name, f.entry.split()[0], f.reason.split(":")[0]) for f in result.faults
    }
    assert ("bad.yaml", "#2", "id") in faults
    assert ("bad.yaml", "#2", "questions") in faults
    assert ("bad.yaml", "#2", "direction") in faults
    assert any(f[:2] == ("bad.yaml", "#3") and "related" in f[2] for f in faults)
    assert any(f[0] == "broken.yaml" and f[2] == "invalid YAML" for f in faults)


def test_duplicate_id_across_files_rejects_both(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(GOOD, encoding="utf-8")
    result = load_path(tmp_path)
    assert result.docs == []
    assert all("duplicate id" in f.reason for f in result.faults)


def test_store_serves_only_the_latest_approved_version(tmp_path: Path) -> None:
    store = SqliteKnowledgeStore(tmp_path / "k.sqlite3")
    docs = load_path(_write(tmp_path, GOOD)).docs
    report = store.import_docs(docs, approve=False, by="ed")
    assert report.created == ["kb-test-good", "test-campaign"]
    assert store.live_answers() == []  # drafts are never served
    store.import_docs(docs, approve=True, by="boss")
    assert [(e.doc.id, e.version) for e in store.live_answers()] == [("kb-test-good", 2)]
    again = store.import_docs(docs, approve=True, by="boss")
    assert again.unchanged == ["kb-test-good", "test-campaign"]
    kept = store.import_docs(docs, approve=True, by="bundled", keep_existing=True)
    assert kept.kept == ["kb-test-good", "test-campaign"]
    store.close()


def test_kb_import_command(tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = _write(tmp_path, GOOD)
    run = run_copilot(
        "--data-dir", str(data), "kb", "import", str(good), "--approve", "--by", "alice"
    )
    assert run.returncode == 0, run.stderr
    assert "2 created" in run.stdout
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "bad.yaml").write_text(BAD, encoding="utf-8")
    run = run_copilot("--data-dir", str(data), "kb", "import", str(bad))
    assert run.returncode == 1
    assert "bad.yaml: #2 Bad_Id: id:" in run.stderr
    store = SqliteKnowledgeStore(data / "knowledge.sqlite3")
    assert [e.doc.id for e in store.live_answers()] == ["kb-test-good"]
    store.close()


def _write(folder: Path, text: str) -> Path:
    path = folder / "entries.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_export_then_import_changes_nothing(tmp_path: Path) -> None:
    data, out = tmp_path / "data", tmp_path / "exported"

    def kb(*args: str):
        return run_copilot("--data-dir", str(data), "kb", *args)

    assert (
        kb("import", str(BUNDLED_KNOWLEDGE / "campaigns"), "--approve", "--by", "a").returncode == 0
    )
    assert kb("export", str(out)).returncode == 0
    again = kb("import", str(out), "--approve", "--by", "a")
    campaigns = len(load_path(BUNDLED_KNOWLEDGE / "campaigns").docs)
    assert again.returncode == 0 and f"0 created, 0 updated, {campaigns} unchanged" in again.stdout
    assert "ringback-box" in kb("list").stdout
    assert "import:approved" in kb("history", "ringback-box").stdout
    draft = tmp_path / "draft.yaml"
    draft.write_text(GOOD, encoding="utf-8")
    assert kb("import", str(draft), "--by", "bob").returncode == 0
    assert kb("approve", "kb-test-good", "--by", "bob").returncode == 1  # the author
    assert kb("approve", "kb-test-good", "--by", "carol").returncode == 0
