/* The staff queue page: lists the hand-off queue, shows a conversation, take / reply / return /
 * close. Polls the JSON API (same origin, session cookie, CSRF header). Text is inserted as
 * text nodes only. */
(function () {
  "use strict";
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var $ = function (id) { return document.getElementById(id); };
  var current = null, lastTranscript = "";
  var STATE = { waiting: "đang chờ", taken: "đang được trả lời", returned: "đã trả lại trợ lý ảo", closed: "đã kết thúc" };
  var REASON = { asked: "người dân yêu cầu", failed_twice: "trợ lý không trả lời được 2 lần", feedback: "không hài lòng" };

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function since(seconds) {
    var s = Math.max(0, Math.round(Date.now() / 1000 - seconds));
    return s < 60 ? s + " giây" : Math.round(s / 60) + " phút";
  }
  function api(path, method, body) {
    return fetch(path, {
      method: method || "GET", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: body ? JSON.stringify(body) : undefined
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (data) {
        if (!r.ok) throw new Error((data.error && data.error.message) || ("HTTP " + r.status));
        return data;
      });
    });
  }
  function showError(message) {
    $("conv-error").textContent = message || "";
    $("conv-error").hidden = !message;
  }

  function renderList(name, tickets) {
    var list = $("list-" + name);
    $("count-" + name).textContent = tickets.length;
    list.textContent = "";
    tickets.forEach(function (t) {
      var label = "…" + t.conversation.slice(-6) + " · " + (REASON[t.reason] || t.reason);
      if (t.state === "waiting") label += " · chờ " + since(t.queued_at) + (t.in_office_hours ? "" : " · để lại lời nhắn ngoài giờ");
      if (t.state === "taken" && !t.mine) label += " · " + t.taken_name + " đang trả lời";
      if (t.state === "returned" || t.state === "closed") label += " · " + STATE[t.state];
      var button = el("button", { type: "button", "data-conversation": t.conversation }, label);
      if (current === t.conversation) button.setAttribute("aria-current", "true");
      button.addEventListener("click", function () { open(t.conversation); });
      list.appendChild(el("li")).appendChild(button);
    });
  }

  function refreshQueue() {
    return api("/admin/handoff/api/queue").then(function (data) {
      ["waiting", "mine", "others", "closed"].forEach(function (n) { renderList(n, data[n]); });
    }).catch(function (e) { showError("Không tải được hàng chờ: " + e.message); });
  }

  function renderConversation(data) {
    var t = data.ticket;
    $("conv-title").textContent = "Cuộc trò chuyện …" + t.conversation.slice(-6);
    var state = STATE[t.state] || t.state;
    if (t.state === "waiting") state += " (vị trí " + t.position + ", chờ " + since(t.queued_at) + ")";
    if (t.state === "taken") state += ": " + (t.mine ? "anh/chị đang trả lời" : t.taken_name + " đang trả lời");
    $("conv-state").textContent = "Trạng thái: " + state;
    $("take").hidden = t.state !== "waiting";
    $("return").hidden = $("close").hidden = !(t.mine || t.state === "waiting");
    $("reply-form").hidden = !(t.state === "taken" && t.mine);
    var key = JSON.stringify(data.transcript);
    if (key === lastTranscript) return;
    lastTranscript = key;
    var box = $("transcript");
    box.textContent = "";
    data.transcript.forEach(function (line) {
      var item = el("div", { class: "line line-" + line.who });
      var who = { citizen: "Người dân", bot: "Trợ lý ảo", staff: "Cán bộ (" + (line.staff || "") + ")", event: "" }[line.who];
      if (who) item.appendChild(el("span", { class: "who" }, who));
      item.appendChild(document.createTextNode(line.text));
      if (line.sources && line.sources.length) {
        var sources = item.appendChild(el("ul", { class: "sources" }));
        line.sources.forEach(function (s) {
          var li = sources.appendChild(el("li"));
          if (/^https?:\/\//.test(s.url || "")) li.appendChild(el("a", { href: s.url, target: "_blank", rel: "noopener noreferrer" }, s.title || s.url));
          else li.textContent = s.title || "";
          if (s.section) li.appendChild(document.createTextNode(", mục " + s.section));
        });
      }
      box.appendChild(item);
    });
    box.scrollTop = box.scrollHeight;
  }

  function refreshConversation() {
    if (!current) return Promise.resolve();
    return api("/admin/handoff/api/conversations/" + encodeURIComponent(current)).then(renderConversation)
      .catch(function (e) { showError(e.message); });
  }

  function open(conversation) {
    current = conversation; lastTranscript = ""; showError("");
    refreshConversation().then(refreshQueue);
  }

  function act(what, body) {
    if (!current) return Promise.resolve();
    showError("");
    return api("/admin/handoff/api/conversations/" + encodeURIComponent(current) + "/" + what, "POST", body || {})
      .then(function () { lastTranscript = ""; return refreshConversation(); })
      .catch(function (e) { showError(e.message); })
      .then(refreshQueue);
  }

  $("take").addEventListener("click", function () { act("take"); });
  $("return").addEventListener("click", function () { act("return"); });
  $("close").addEventListener("click", function () { act("close"); });
  $("canned").addEventListener("change", function () {
    if (this.value) { $("reply").value = this.value; $("reply").focus(); }
    this.value = "";
  });
  $("reply-form").addEventListener("submit", function (e) {
    e.preventDefault();
    var text = $("reply").value.trim();
    if (!text) return;
    act("reply", { text: text }).then(function () { if (!$("conv-error").textContent) $("reply").value = ""; });
  });

  refreshQueue();
  setInterval(function () { refreshQueue(); refreshConversation(); }, 1500);
})();
