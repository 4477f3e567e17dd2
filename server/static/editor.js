// The knowledge editor: search, edit with a retrieval preview, drafts awaiting approval, approve,
// history with diffs. Talks only to /v1/knowledge; every server text is set as textContent.
"use strict";

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
$("token").value = params.get("token") || "";
let current = null; // {id, latest_version, base} of the entry in the form; base: the version loaded

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

async function api(method, path, body) {
  const headers = { "Content-Type": "application/json" };
  if ($("token").value) headers.Authorization = "Bearer " + $("token").value;
  const reply = await fetch("/v1/knowledge/answers" + path, {
    method, headers, body: body ? JSON.stringify(body) : undefined });
  const data = await reply.json();
  if (!reply.ok) throw new Error(`${data.error.code}: ${data.error.message}`);
  return data;
}

function say(text, ok) { const m = $("message"); m.textContent = text; m.className = ok ? "ok" : "error"; }

async function search() {
  try {
    const found = await api("GET", "?q=" + encodeURIComponent($("q").value));
    $("entries").replaceChildren(...found.items.map((e) => {
      const li = el("li", `${e.id} · ${e.title} · ${e.status} v${e.version}`);
      li.onclick = () => load(e.id);
      return li;
    }));
    const drafts = await api("GET", "?status=draft");
    $("drafts").replaceChildren(...drafts.items.map((e) => {
      const li = el("li", `${e.id} · v${e.version} · ${e.author}`);
      li.onclick = () => load(e.id);
      return li;
    }));
  } catch (err) { say(err.message, false); }
}

async function load(id) {
  try {
    const entry = await api("GET", "/" + encodeURIComponent(id));
    const v = entry.drafts.length ? entry.drafts[entry.drafts.length - 1] : entry.approved;
    current = { id, latest_version: entry.latest_version, base: v };
    $("f-id").value = v.id; $("f-id").readOnly = true;
    $("f-title").value = v.title;
    $("f-questions").value = v.questions.join("\n");
    $("f-answer").value = v.answer;
    $("f-direction").value = v.direction;
    $("f-source").value = v.source;
    $("form-title").textContent = `编辑 ${id}（${entry.status}，最新 v${entry.latest_version}）`;
  } catch (err) { say(err.message, false); }
}

// Fields the form does not show (note, tags, related) are kept from the version loaded.
function formBody() {
  const { version, status, author, created_at, approved_by, approved_at, ...kept } =
    (current && current.base) || {};
  return { ...kept, id: $("f-id").value.trim(), title: $("f-title").value.trim(),
           questions: $("f-questions").value.split("\n").map((q) => q.trim()).filter(Boolean),
           answer: $("f-answer").value.trim(), direction: $("f-direction").value,
           source: $("f-source").value.trim() };
}

$("entry").onsubmit = async (event) => {
  event.preventDefault();
  try {
    const body = formBody();
    const saved = current
      ? await api("PUT", "/" + encodeURIComponent(current.id), { ...body, base_version: current.latest_version })
      : await api("POST", "", body);
    current = { id: body.id, latest_version: saved.version, base: body };
    const clashes = (saved.conflicts || []).map((c) => `「${c.question}」已检索到 ${c.entry}`).join("；");
    say(`已保存草稿 v${saved.version}` + (clashes ? `，注意冲突：${clashes}` : ""), true);
    search();
  } catch (err) { say(err.message, false); }
};

$("approve").onclick = async () => {
  if (!current) return;
  try {
    const v = await api("POST", `/${encodeURIComponent(current.id)}/approve`);
    say(`v${v.version} 已审批，已上线`, true);
    search();
  } catch (err) { say(err.message, false); }
};

$("preview").onclick = async () => {
  try {
    const body = formBody();
    const result = await api("POST", "/preview", { id: body.id, questions: body.questions,
      direction: body.direction === "both" ? "outbound" : body.direction });
    $("preview-table").replaceChildren(...result.items.map((r) => {
      const tr = el("tr");
      tr.append(el("td", r.question), el("td", r.entry || "—"), el("td", r.score),
                el("td", r.this_entry ? "本口径" : (r.answered ? "其他口径" : "不提示")));
      return tr;
    }));
  } catch (err) { say(err.message, false); }
};

$("history").onclick = async () => {
  if (!current) return;
  try {
    const h = await api("GET", `/${encodeURIComponent(current.id)}/history`);
    $("history-list").replaceChildren(...h.versions.map((v) => {
      const li = el("li", `v${v.version} ${v.status} · ${v.author} · ${v.created_at}`);
      li.append(el("div", JSON.stringify(v.changes, null, 1), "diff"));
      return li;
    }));
  } catch (err) { say(err.message, false); }
};

$("new").onclick = () => {
  current = null;
  for (const id of ["f-id", "f-title", "f-questions", "f-answer", "f-source"]) $(id).value = "";
  $("f-id").readOnly = false;
  $("form-title").textContent = "新建口径";
};
$("search").onsubmit = (event) => { event.preventDefault(); search(); };
$("token").onchange = search;
search();
