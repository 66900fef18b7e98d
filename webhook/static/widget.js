/* Trợ lý ảo dịch vụ công: embeddable chat widget. No build step, no dependencies.
 * Embed:  <script src="https://HOST/widget.js" defer></script>
 * Options (attributes of that tag): data-api="https://HOST" (API base, default: where the script
 * comes from), data-title="…", data-greeting="…", data-open="true", data-position="left".
 * Safety: everything from the server is inserted as text nodes; links are built from a small
 * Markdown subset and only for http(s) URLs. Never innerHTML.
 */
(function () {
  "use strict";
  if (window.__trolyaoWidget) return;
  window.__trolyaoWidget = true;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var attr = function (name, fallback) { return (script && script.getAttribute("data-" + name)) || fallback; };
  var assetUrl = function (file) { return new URL(file, script ? script.src : location.href).href; };
  var apiBase = attr("api", script ? new URL(script.src, location.href).origin : "").replace(/\/$/, "");
  var title = attr("title", "Trợ lý ảo dịch vụ công");
  var greeting = attr("greeting", "Xin chào! Tôi là trợ lý ảo dịch vụ công. Anh/chị cần hỏi về thủ tục nào?");
  var SUGGESTIONS = ["Làm lý lịch tư pháp trên VNeID thế nào?", "Đăng ký tạm trú online cần giấy tờ gì?",
                     "Định danh điện tử mức 2 là gì?"];
  var MAX_CHARS = 1000, KEEP_ENTRIES = 80, TIMEOUT_MS = 35000;
  var KEY = "trolyao.sender", OPEN_KEY = "trolyao.open";

  // ---- storage (private browsing may refuse it: then the widget simply forgets) ----
  function load(store, key) { try { return window[store].getItem(key); } catch (e) { return null; } }
  function keep(store, key, value) {
    try { value === null ? window[store].removeItem(key) : window[store].setItem(key, value); } catch (e) { /* full or blocked */ }
  }
  function newSender() {
    var bytes = new Uint8Array(12);
    (window.crypto || {}).getRandomValues ? crypto.getRandomValues(bytes) : bytes.forEach(function (_, i) { bytes[i] = Math.random() * 256; });
    return "web-" + Array.prototype.map.call(bytes, function (b) { return (b + 256).toString(16).slice(1); }).join("");
  }
  var sender = load("localStorage", KEY) || newSender();
  keep("localStorage", KEY, sender);
  var transcriptKey = function () { return "trolyao.transcript." + sender; };
  var entries = [];
  try { entries = JSON.parse(load("localStorage", transcriptKey()) || "[]"); } catch (e) { /* unreadable: start afresh */ }
  entries = Array.isArray(entries) ? entries.filter(function (e) { return e && typeof e.t === "string"; }) : [];
  function save() {
    entries = entries.slice(-KEEP_ENTRIES);
    keep("localStorage", transcriptKey(), JSON.stringify(entries));
  }
  // Live hand-off: the last staff message seen (cursor) while a staff member has the conversation.
  var handoffKey = function () { return "trolyao.handoff." + sender; };
  var handoff = null;
  try { handoff = JSON.parse(load("localStorage", handoffKey()) || "null"); } catch (e) { handoff = null; }
  function saveHandoff() { keep("localStorage", handoffKey(), handoff ? JSON.stringify(handoff) : null); }

  // ---- DOM helpers ----
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) node.setAttribute(k, attrs[k]);
    if (text) node.textContent = text;
    return node;
  }
  function safeHref(url) {
    try { var u = new URL(url); return /^https?:$/.test(u.protocol) ? u.href : null; } catch (e) { return null; }
  }
  function link(href, label) {
    var a = el("a", { href: href, target: "_blank", rel: "noopener noreferrer" }, label);
    a.appendChild(el("span", { class: "tly-sr" }, " (mở trong thẻ mới)"));
    return a;
  }

  // ---- Markdown subset: paragraphs, - / 1. lists, # headings, **bold**, *italic*, `code`, links ----
  var INLINE = /\[([^\]\n]+)\]\(([^)\s]+)\)|\*\*([^*\n]+)\*\*|\*([^*\n]+)\*|`([^`\n]+)`|(https?:\/\/[^\s<>()]+[^\s<>().,;:!?"'])/g;
  function inline(parent, text) {
    var last = 0, m;
    INLINE.lastIndex = 0;
    while ((m = INLINE.exec(text))) {
      parent.appendChild(document.createTextNode(text.slice(last, m.index)));
      var href = safeHref(m[2] || m[6] || "");
      if (m[1] || m[6]) parent.appendChild(href ? link(href, m[1] || m[6]) : document.createTextNode(m[1] || m[6]));
      else if (m[3]) parent.appendChild(el("strong", {}, m[3]));
      else if (m[4]) parent.appendChild(el("em", {}, m[4]));
      else parent.appendChild(el("code", {}, m[5]));
      last = INLINE.lastIndex;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }
  function markdown(parent, text) {
    var list = null, para = null;
    String(text).replace(/\r/g, "").split("\n").forEach(function (line) {
      var item = /^\s*(?:([-*•])|(\d+)[.)])\s+(.*)$/.exec(line), head = /^#{1,6}\s+(.*)$/.exec(line);
      if (!line.trim()) { list = para = null; return; }
      if (item) {
        var kind = item[1] ? "ul" : "ol";
        if (!list || list.tagName.toLowerCase() !== kind) {
          list = parent.appendChild(el(kind, item[2] && item[2] !== "1" ? { start: item[2] } : {}));
        }
        inline(list.appendChild(el("li")), item[3]);
        para = null;
        return;
      }
      list = null;
      if (head) { inline(parent.appendChild(el("p", { class: "tly-h" })), head[1]); para = null; return; }
      if (para) para.appendChild(el("br")); else para = parent.appendChild(el("p"));
      inline(para, line);
    });
  }

  // ---- the widget ----
  // lang: the portal around the widget may be in another language (screen readers pick the voice).
  var host = el("div", { id: "trolyao-widget", lang: "vi", hidden: "" });
  var shadow = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = el("link", { rel: "stylesheet", href: assetUrl("widget.css") });
  css.onload = css.onerror = function () { host.removeAttribute("hidden"); };
  var root = el("div", { class: "tly-root" + (attr("position") === "left" ? " tly-left" : ""), lang: "vi" });
  var panel = el("section", { id: "tly-panel", class: "tly-panel", role: "dialog", "aria-labelledby": "tly-title", hidden: "" });
  var header = el("header", { class: "tly-header" });
  header.appendChild(el("h2", { id: "tly-title" }, title));
  var restart = el("button", { type: "button", class: "tly-icon", title: "Cuộc trò chuyện mới", "aria-label": "Bắt đầu cuộc trò chuyện mới" }, "↺");
  var close = el("button", { type: "button", class: "tly-icon", title: "Đóng", "aria-label": "Đóng cửa sổ trợ lý" }, "×");
  header.appendChild(restart); header.appendChild(close);
  var log = el("div", { class: "tly-log", role: "log", "aria-live": "polite", "aria-label": "Nội dung trò chuyện", tabindex: "0" });
  var form = el("form", { class: "tly-form" });
  var input = el("input", { id: "tly-input", type: "text", name: "message", maxlength: String(MAX_CHARS), autocomplete: "off",
                            enterkeyhint: "send", placeholder: "Nhập câu hỏi của anh/chị…" });
  var send = el("button", { type: "submit", class: "tly-send" }, "Gửi");
  form.appendChild(el("label", { for: "tly-input", class: "tly-sr" }, "Câu hỏi của anh/chị"));
  form.appendChild(input); form.appendChild(send);
  var note = el("p", { class: "tly-note" }, "Xin đừng nhập số CCCD, số điện thoại hay thông tin cá nhân.");
  // Who answers now: shown while a staff member has (or is about to take) the conversation.
  var status = el("p", { class: "tly-status", role: "status", hidden: "" });
  var toggle = el("button", { type: "button", class: "tly-toggle", "aria-expanded": "false", "aria-controls": "tly-panel" }, "Hỏi trợ lý ảo");
  [header, log, status, form, note].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(panel); root.appendChild(toggle);
  shadow.appendChild(css); shadow.appendChild(root);

  var busy = false;
  var lastPointer = null; // "touch" when the last interaction was a tap (no soft keyboard then)
  shadow.addEventListener("pointerdown", function (e) { lastPointer = e.pointerType; }, true);
  shadow.addEventListener("keydown", function () { lastPointer = null; }, true);

  // A pressed button may be disabled or scrolled away when the answer comes: move focus where the
  // conversation goes on (the message box) instead of letting it fall to <body>. After a tap,
  // the log (no soft keyboard popping up).
  function refocus() {
    if (panel.hasAttribute("hidden")) return;
    if (lastPointer === "touch") log.focus({ preventScroll: true }); else input.focus({ preventScroll: true });
  }

  function buttonRow(entry) {
    var row = el("div", { class: "tly-buttons" });
    var feedback = entry.b.some(isVote);
    if (feedback) { row.className += " tly-feedback"; row.setAttribute("role", "group"); row.setAttribute("aria-label", "Đánh giá câu trả lời"); }
    entry.b.forEach(function (b) {
      var btn = el("button", { type: "button", class: feedback ? "tly-vote" : "tly-quick" }, b.title || b.payload);
      if (feedback) {
        btn.setAttribute("aria-pressed", String(entry.f === b.payload));
        if (entry.f) btn.disabled = true;
      }
      btn.addEventListener("click", function () {
        if (busy) return;
        if (feedback) {
          entry.f = b.payload; save();
          offerPerson = /negative/.test(b.payload);
          Array.prototype.forEach.call(row.children, function (other) {
            other.disabled = true; other.setAttribute("aria-pressed", String(other === btn));
          });
          deliver(b.payload);
        } else {
          ask(b.payload, b.title);
        }
        refocus();
      });
      row.appendChild(btn);
    });
    return row;
  }

  function render(entry) {
    var item = el("div", { class: "tly-msg tly-" + ({ u: "user", s: "staff" }[entry.w] || "bot") });
    if (entry.w === "s") item.appendChild(el("span", { class: "tly-author" }, (entry.n || "Cán bộ hỗ trợ") + ":"));
    else item.appendChild(el("span", { class: "tly-sr" }, entry.w === "u" ? "Anh/chị: " : "Trợ lý: "));
    if (entry.w === "u") item.appendChild(el("p", {}, entry.t)); else markdown(item, entry.t || "");
    if (entry.s && entry.s.length) {
      // An answer: its first paragraph is the direct answer, the rest the details.
      var first = item.querySelector("p:not(.tly-sr), ol, ul");
      if (first) first.classList.add("tly-direct");
      var box = el("div", { class: "tly-sources" });
      box.appendChild(el("span", { class: "tly-sources-label" }, "Nguồn:"));
      var list = box.appendChild(el("ul"));
      entry.s.forEach(function (s) {
        var href = safeHref(s.url || ""), li = list.appendChild(el("li"));
        li.appendChild(href ? link(href, s.title || href) : document.createTextNode(s.title || ""));
        if (s.section) li.appendChild(el("span", { class: "tly-section" }, ", mục " + s.section));
        if (s.basis) li.appendChild(el("span", { class: "tly-basis" }, "; căn cứ: " + s.basis));
      });
      item.appendChild(box);
    }
    if (entry.b && entry.b.length) {
      var row = item.appendChild(buttonRow(entry));
      if (entry.s && entry.s.length && !entry.b.some(isVote)) {
        row.setAttribute("role", "group"); row.setAttribute("aria-label", "Hỏi thêm về thủ tục này");
      }
    }
    log.appendChild(item);
    return item;
  }

  function greet() {
    var hello = { w: "b", t: greeting, b: SUGGESTIONS.map(function (q) { return { title: q, payload: q }; }) };
    entries.push(hello); save();
    render(hello);
  }

  function scrollTo(node) { log.scrollTop = Math.max(0, node.offsetTop - log.offsetTop - 8); }

  // The answer's "Nguồn: [title](url)" line becomes the source list under it (links the
  // answer actually cites); otherwise the API's sources, best first.
  function splitSources(text, sources) {
    var match = /\n*\s*Nguồn:\s*([^\n]*)\s*$/.exec(text || ""), cited = [], m;
    if (!match || !sources.length) return { t: text, s: [] };
    // "…, mục Lệ phí; căn cứ: Thông tư 73/2024/TT-BTC": the section and the legal basis.
    var basis = /;\s*căn cứ:\s*(.+)$/.exec(match[1]), line = basis ? match[1].slice(0, basis.index) : match[1];
    var links = /\[([^\]]+)\]\(([^)\s]+)\)/g, section = /,\s*mục\s+(.+)$/.exec(line);
    while ((m = links.exec(line))) cited.push({ title: m[1], url: m[2] });
    if (cited.length && section) cited[0].section = section[1].trim();
    if (cited.length && basis) cited[0].basis = basis[1].trim();
    return { t: text.slice(0, match.index), s: cited.length ? cited : sources.slice(0, 3) };
  }

  function isVote(b) { return /^\/give_feedback\b/.test(b.payload || ""); }
  var offerPerson = false; // after a 👎: the reply offers "Gặp cán bộ hỗ trợ" (live hand-off)
  var PERSON = { title: "Gặp cán bộ hỗ trợ", payload: "Tôi muốn gặp cán bộ hỗ trợ" };

  function addReply(data) {
    var sources = (data.sources || []).filter(function (s) { return s && s.title; });
    var fresh = (data.messages || []).map(function (m) {
      return { w: "b", t: m.text || "", b: (m.buttons || []).filter(function (b) { return b && b.payload; }) };
    });
    fresh.forEach(function (entry) {
      var parts = splitSources(entry.t, sources);
      if (parts.s.length) { entry.t = parts.t; entry.s = parts.s; sources = []; }
    });
    if (offerPerson && fresh.length) fresh[fresh.length - 1].b.push(PERSON);
    offerPerson = false;
    // Sources but no "Nguồn:" line: under the last message that is not the feedback question.
    var target = fresh.filter(function (e) { return !e.b.some(isVote); }).pop();
    if (sources.length && target) target.s = sources.slice(0, 3);
    var nodes = fresh.map(function (entry) { entries.push(entry); return render(entry); });
    save();
    if (!nodes.length) return;
    var question = nodes[0].previousElementSibling; // keep the question in view above its answer
    scrollTo(question && /tly-user/.test(question.className) ? question : nodes[0]);
  }

  function problem(status, body) {
    var server = body && body.error && body.error.message;
    if (!status) return "Không kết nối được máy chủ. Anh/chị kiểm tra kết nối mạng rồi bấm “Thử lại”.";
    if (status === 429 || status >= 500) return server || "Hệ thống đang bận, anh/chị vui lòng thử lại sau giây lát.";
    return "Xin lỗi, tin nhắn chưa gửi được. Anh/chị thử viết lại câu hỏi ngắn gọn hơn.";
  }

  function showError(message, retryable, payload) {
    var item = el("div", { class: "tly-msg tly-bot tly-error" });
    item.appendChild(el("p", {}, message));
    if (retryable) {
      var retry = el("button", { type: "button", class: "tly-retry" }, "Thử lại");
      retry.addEventListener("click", function () { log.removeChild(item); deliver(payload); refocus(); });
      item.appendChild(retry);
    }
    log.appendChild(item);
    scrollTo(item);
    if (retryable) retry.focus();
  }

  function setBusy(on) {
    busy = on;
    send.disabled = on; // no aria-busy on the log: the typing indicator should be announced
  }

  function deliver(payload) {
    setBusy(true);
    var typing = el("div", { class: "tly-msg tly-bot tly-typing" });
    typing.appendChild(el("span", { class: "tly-sr" }, "Trợ lý đang soạn câu trả lời…"));
    for (var i = 0; i < 3; i++) typing.appendChild(el("span", { class: "tly-dot", "aria-hidden": "true" }));
    log.appendChild(typing);
    log.scrollTop = log.scrollHeight;
    var controller = window.AbortController ? new AbortController() : null;
    var timer = setTimeout(function () { if (controller) controller.abort(); }, TIMEOUT_MS);
    var status = 0;
    fetch(apiBase + "/api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
      body: JSON.stringify({ sender: sender, message: payload }), signal: controller && controller.signal
    }).then(function (response) {
      status = response.status;
      return response.json().catch(function () { return {}; });
    }).then(function (body) {
      if (status !== 200 || !body.messages) throw body;
      typing.remove(); setBusy(false);
      addReply(body);
      if (body.handoff) followHandoff();
    }).catch(function (body) {
      clearTimeout(timer);
      typing.remove(); setBusy(false);
      showError(problem(status, body), !status || status === 429 || status >= 500, payload);
    }).then(function () { clearTimeout(timer); });
  }

  function ask(payload, shown) {
    if (busy) return;
    var entry = { w: "u", t: shown || payload };
    entries.push(entry); save();
    scrollTo(render(entry));
    deliver(payload);
  }

  // ---- live hand-off: staff messages arrive by long polling (/api/handoff/updates) ----
  var polling = false;
  function showStatus(state, position) {
    var text = {
      waiting: "Đang chờ cán bộ hỗ trợ" + (position ? " (anh/chị ở vị trí số " + position + ")" : "") + "…",
      taken: "Cán bộ hỗ trợ đang trò chuyện với anh/chị."
    }[state];
    status.textContent = text || "";
    if (text) status.removeAttribute("hidden"); else status.setAttribute("hidden", "");
    status.className = "tly-status" + (state === "waiting" ? " tly-waiting" : "");
  }
  function followHandoff() {
    if (!handoff) { handoff = { after: 0 }; saveHandoff(); }
    if (polling) return;
    polling = true;
    var mine = sender, first = true; // the first request answers at once (the state to show)
    (function next(delay) {
      setTimeout(function () {
        if (mine !== sender || !handoff) { polling = false; return; }
        var code = 0, wait = first ? "0" : "1";
        first = false;
        fetch(apiBase + "/api/handoff/updates?wait=" + wait + "&sender=" + encodeURIComponent(sender) + "&after=" + (handoff.after || 0),
              { credentials: "omit", cache: "no-store" }).then(function (response) {
          code = response.status;
          return response.json();
        }).then(function (body) {
          if (mine !== sender || !handoff) { polling = false; return; }
          if (code !== 200) throw body;
          var nodes = (body.messages || []).map(function (m) {
            var entry = { w: m.author === "staff" ? "s" : "b", t: m.text || "", n: m.label };
            entries.push(entry); return render(entry);
          });
          handoff.after = body.cursor || handoff.after; save(); saveHandoff();
          if (nodes.length) scrollTo(nodes[0]);
          showStatus(body.state, body.position);
          if (body.state === "waiting" || body.state === "taken") { next(0); return; }
          handoff = null; saveHandoff(); polling = false; // back with the assistant
        }).catch(function () { next(3000); }); // offline or busy: try again shortly
      }, delay);
    })(0);
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    ask(text);
    input.focus({ preventScroll: true }); // "Gửi" is disabled while the answer comes
  });

  // Phones: the open panel fills the screen, so it is a modal dialog: the page behind is inert
  // and Tab cycles inside the panel. Wider screens: a side panel next to a usable page.
  var fullScreen = window.matchMedia ? window.matchMedia("(max-width: 520px)") : { matches: false };
  var madeInert = [];
  function applyModal() {
    var modal = !panel.hasAttribute("hidden") && fullScreen.matches;
    if (modal) {
      panel.setAttribute("aria-modal", "true");
      Array.prototype.forEach.call(document.body.children, function (node) {
        if (node === host || node.inert || /^(SCRIPT|STYLE|LINK|TEMPLATE)$/.test(node.tagName)) return;
        node.inert = true; madeInert.push(node);
      });
    } else {
      panel.removeAttribute("aria-modal");
      madeInert.forEach(function (node) { node.inert = false; });
      madeInert = [];
    }
  }
  if (fullScreen.addEventListener) fullScreen.addEventListener("change", applyModal);
  else if (fullScreen.addListener) fullScreen.addListener(applyModal);

  function focusable() {
    return Array.prototype.filter.call(
      panel.querySelectorAll('button:not([disabled]), a[href], input:not([disabled]), [tabindex="0"]'),
      function (node) { return node.getClientRects().length > 0; });
  }
  panel.addEventListener("keydown", function (e) {
    if (e.key !== "Tab" || !panel.hasAttribute("aria-modal")) return;
    var all = focusable(), first = all[0], last = all[all.length - 1], now = shadow.activeElement;
    if (!first) return;
    if (e.shiftKey && (now === first || !panel.contains(now))) { e.preventDefault(); last.focus(); }
    else if (!e.shiftKey && (now === last || !panel.contains(now))) { e.preventDefault(); first.focus(); }
  });

  function setOpen(open, restoreFocus) {
    if (open) panel.removeAttribute("hidden"); else panel.setAttribute("hidden", "");
    root.classList.toggle("tly-open", open);
    toggle.setAttribute("aria-expanded", String(open));
    keep("sessionStorage", OPEN_KEY, open ? "1" : null);
    applyModal();
    if (open) { log.scrollTop = log.scrollHeight; input.focus(); } else if (restoreFocus) toggle.focus();
  }
  toggle.addEventListener("click", function () { setOpen(panel.hasAttribute("hidden"), false); });
  close.addEventListener("click", function () { setOpen(false, true); });
  // Esc closes from anywhere in the widget, and also when focus has fallen to the page's <body>
  // (not while the citizen is using another part of the portal).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || e.defaultPrevented || panel.hasAttribute("hidden")) return;
    if (e.target === host || e.target === document.body || e.target === document.documentElement) {
      setOpen(false, true);
    }
  });
  function startOver(notice) {
    keep("localStorage", transcriptKey(), null);
    handoff = null; saveHandoff(); showStatus("none");
    sender = newSender(); keep("localStorage", KEY, sender);
    entries = []; log.textContent = "";
    if (notice) log.appendChild(el("p", { class: "tly-notice", role: "status" }, notice));
    greet(); input.focus();
  }
  // "↺": a new conversation, keeping the old one on the server (deleted after the retention
  // period), or deleting it there now. Only this browser knows its random sender id, which is
  // what lets the server accept the deletion (webhook/blueprints/privacy.py).
  var choice = null;
  restart.addEventListener("click", function () {
    if (busy) return; // the pending answer belongs to the current conversation
    if (choice) { choice.querySelector("button").focus(); return; }
    choice = el("div", { class: "tly-msg tly-bot tly-choice", role: "group", "aria-label": "Bắt đầu cuộc trò chuyện mới" });
    choice.appendChild(el("p", {}, "Anh/chị muốn bắt đầu cuộc trò chuyện mới? Nội dung cuộc trò chuyện này được lưu " +
      "trên máy chủ có thời hạn để cải thiện câu trả lời; anh/chị có thể xóa ngay."));
    var row = choice.appendChild(el("div", { class: "tly-buttons" }));
    var erase = row.appendChild(el("button", { type: "button", class: "tly-quick" }, "Xóa cuộc trò chuyện"));
    var fresh = row.appendChild(el("button", { type: "button", class: "tly-quick" }, "Bắt đầu mới"));
    var cancel = row.appendChild(el("button", { type: "button", class: "tly-quick" }, "Hủy"));
    function dismiss() { if (choice && choice.parentNode) choice.parentNode.removeChild(choice); choice = null; }
    cancel.addEventListener("click", function () { dismiss(); input.focus(); });
    fresh.addEventListener("click", function () { dismiss(); startOver(); });
    erase.addEventListener("click", function () {
      if (busy) return;
      setBusy(true); erase.disabled = fresh.disabled = true;
      var code = 0;
      fetch(apiBase + "/api/conversation/delete", {
        method: "POST", headers: { "Content-Type": "application/json" }, credentials: "omit",
        body: JSON.stringify({ sender: sender })
      }).then(function (response) { code = response.status; return response.json().catch(function () { return {}; }); })
        .then(function (body) {
          setBusy(false); dismiss();
          if (code !== 200 || !body.deleted) throw body;
          startOver("Đã xóa cuộc trò chuyện trước trên máy chủ.");
        }).catch(function () {
          setBusy(false); dismiss();
          showError("Chưa xóa được cuộc trò chuyện (" + (code ? "lỗi " + code : "không kết nối được máy chủ") +
                    "). Anh/chị vui lòng bấm ↺ để thử lại sau giây lát.", false);
        });
    });
    log.appendChild(choice);
    scrollTo(choice);
    erase.focus();
  });

  if (entries.length) entries.forEach(render); else greet();
  if (handoff) followHandoff(); // a reload while staff have the conversation: keep listening
  document.body.appendChild(host);
  if (load("sessionStorage", OPEN_KEY) || attr("open") === "true") setOpen(true);
})();
