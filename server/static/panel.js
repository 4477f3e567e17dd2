// The agent's side panel: follows one call over /v1/calls (call.watch) and shows the one thing
// that matters now. Every text from the server is untrusted: it is only ever set as textContent.
"use strict";

const LABELS = {
  identity_check: "确认机主身份", fee_disclosure: "资费及计费周期", rules_disclosure: "业务规则",
  cancel_method: "取消方式", trial_terms: "试用到期及之后处理", explicit_consent: "客户明确同意",
  verification_purpose: "说明验证目的", final_confirmation: "确认业务名称、档位、号码",
};
const DISPOSITIONS = {
  marketing_success: "营销成功", referral_success: "推荐成功", declined: "拒绝办理",
  intent_not_completed: "意向未办理", intent_declined: "意向拒绝", midway_declined: "中途拒绝",
  survey_completed: "问卷完成", other_incomplete: "其他原因未完成",
};

const params = new URLSearchParams(location.search);
const state = { callId: params.get("call") || "", token: params.get("token") || "",
                turns: new Map(), socket: null, retry: 500, dirty: false, last: null };
const $ = (id) => document.getElementById(id);

function el(tag, text, cls) {
  const node = document.createElement(tag);
  if (text !== undefined && text !== null) node.textContent = String(text);
  if (cls) node.className = cls;
  return node;
}

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) {
    state.socket.send(JSON.stringify(message));
  }
}

function connect() {
  if (!state.callId) return;
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const query = state.token ? `?token=${encodeURIComponent(state.token)}` : "";
  const socket = new WebSocket(`${scheme}://${location.host}/v1/calls${query}`);
  state.socket = socket;
  socket.onopen = () => {
    state.retry = 500;
    setStatus("已连接 · " + state.callId, "ok");
    send({ type: "call.watch", call_id: state.callId });
  };
  socket.onmessage = (event) => handle(JSON.parse(event.data));
  socket.onclose = (event) => {
    if (event.code === 4401) { setStatus("令牌无效", "down"); return; }
    setStatus("连接断开，正在重连…", "down");
    setTimeout(connect, state.retry);               // back off: 0.5 s, 1 s, 2 s … 10 s
    state.retry = Math.min(state.retry * 2, 10000);
  };
}

function setStatus(text, cls) { const s = $("status"); s.textContent = text; s.className = "status " + cls; }

function handle(m) {
  if (m.call_id && m.call_id !== state.callId) return;
  switch (m.type) {
    case "call.watching":
      state.turns.clear();
      for (const t of m.turns) state.turns.set(t.seq, { ...t, final: true });
      renderChecklist(m.checklist || []);
      break;
    case "transcript": {
      const known = state.turns.get(m.seq);
      if (!known || !known.final) state.turns.set(m.seq, m);
      break;
    }
    case "suggestion":
      if (m.kind === "answer" && m.items[0].rephrased) renderRephrased(m);
      else if (m.kind === "answer") renderSuggestion(m);
      else if (m.kind === "next_step") {
        state.nextStep = m.items[0].code;
        $("next-step").textContent = "下一步：" + m.items[0].text;
      }
      break;
    case "checklist": renderChecklist(m.items); break;
    case "warning": renderWarning(m); break;
    case "disposition": renderDisposition(m); break;
    case "disposition.confirmed": $("disposition").append(el("p", "已确认：" + m.label)); break;
    default: break;
  }
  scheduleTranscript();
}

// A burst of messages re-renders the transcript once per frame, not once per message.
function scheduleTranscript() {
  if (state.dirty) return;
  state.dirty = true;
  requestAnimationFrame(() => {
    state.dirty = false;
    const list = $("transcript");
    list.replaceChildren(...[...state.turns.values()].sort((a, b) => a.seq - b.seq).map((t) =>
      el("li", (t.speaker === "agent" ? "坐席：" : "客户：") + t.text,
         t.speaker + (t.final === false ? " interim" : ""))));
    list.scrollTop = list.scrollHeight;
  });
}

function renderSuggestion(m) {
  const box = $("suggestion");
  const [top, ...rest] = m.items;
  const text = el("div", top.text, "answer-text");
  const source = el("div", `来源 ${top.source.id} · 第 ${top.source.version} 版`, "source");
  const actions = el("div", null, "actions");
  const copy = el("button", "复制");
  copy.onclick = () => navigator.clipboard && navigator.clipboard.writeText(top.text);
  const ok = el("button", "采纳");
  ok.onclick = () => send({ type: "feedback", call_id: state.callId, suggestion_id: m.suggestion_id, action: "accepted" });
  const no = el("button", "不合适");
  no.onclick = () => send({ type: "feedback", call_id: state.callId, suggestion_id: m.suggestion_id, action: "rejected" });
  actions.append(copy, ok, no);
  const edit = el("button", "修改后使用");
  edit.onclick = () => {
    const changed = prompt("修改后的说法", top.text);
    if (changed) send({ type: "feedback", call_id: state.callId, suggestion_id: m.suggestion_id, action: "edited", text: changed });
  };
  actions.append(edit);
  box.className = "";
  box.dataset.inReplyTo = String(m.in_reply_to);
  box.replaceChildren(text, source, actions);
  if (rest.length) {
    const more = el("details");
    more.append(el("summary", `其他 ${rest.length} 条`));
    for (const item of rest) more.append(el("p", item.text));
    box.append(more);
  }
}

// Phase two: the approved answer adapted to the customer's words, checked against the approved
// sources. Shown above the approved wording it came from, only while that turn is still on screen.
function renderRephrased(m) {
  const box = $("suggestion");
  if (box.dataset.inReplyTo !== String(m.in_reply_to)) return;
  const item = m.items[0];
  const block = el("div", null, "rephrased");
  block.append(el("span", "贴合客户说法 · 已核对口径", "badge"), el("div", item.text, "answer-text"));
  const use = el("button", "采纳改写");
  use.onclick = () => send({ type: "feedback", call_id: state.callId, suggestion_id: m.suggestion_id, action: "accepted" });
  block.append(use);
  box.querySelector(".rephrased")?.remove();
  box.prepend(block);
  box.querySelector(".source").textContent += " · 下方为原口径";
}

function renderChecklist(items) {
  if (items.some((i) => i.code === state.nextStep && i.done)) {  // that step is done now
    state.nextStep = null;
    $("next-step").textContent = "";
  }
  $("checklist").replaceChildren(...items.map((i) =>
    el("li", LABELS[i.code] || i.code, i.done ? "done" : "todo")));
}

function renderWarning(m) {
  const item = el("li", m.message, m.severity);
  if (m.hint) item.append(el("span", "建议：" + m.hint, "hint"));
  $("warnings").prepend(item);
}

function renderDisposition(m) {
  const box = $("disposition");
  box.hidden = false;
  const select = el("select");
  for (const [code, label] of Object.entries(DISPOSITIONS)) {
    const option = el("option", label);
    option.value = code;
    option.selected = code === m.code;
    select.append(option);
  }
  const confirm = el("button", "确认结果");
  confirm.onclick = () => send({ type: "disposition.confirm", call_id: state.callId, code: select.value });
  box.replaceChildren(el("div", "建议结果", "source"), el("div", m.label, "code"),
                      el("p", `${m.rationale}（置信度 ${Math.round(m.confidence * 100)}%）`));
  const second = m.second_opinion;
  if (second && !second.agrees) {
    box.append(el("p", `AI 复核意见：${second.label}（${second.rationale}）`, "second-opinion"));
  }
  box.append(select, confirm);
}

$("call-input").value = state.callId;
$("token-input").value = state.token;
$("watch-form").onsubmit = (event) => {
  event.preventDefault();
  state.callId = $("call-input").value.trim();
  state.token = $("token-input").value.trim();
  if (state.socket) { state.socket.onclose = null; state.socket.close(); }
  history.replaceState(null, "", `?call=${encodeURIComponent(state.callId)}` +
                       (state.token ? `&token=${encodeURIComponent(state.token)}` : ""));
  connect();
};
connect();
