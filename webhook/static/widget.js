/* Trợ lý ảo dịch vụ công — embeddable chat widget (no build step, no dependencies).
 * Embed: <script src="https://HOST/widget.js" defer></script>
 * Optional attributes: data-api="https://HOST" data-title="..."
 */
(function () {
  "use strict";
  var script = document.currentScript;
  var apiBase = (script && script.getAttribute("data-api")) ||
    (script ? new URL(script.src, location.href).origin : "");
  var title = (script && script.getAttribute("data-title")) || "Trợ lý ảo dịch vụ công";
  var SENDER_KEY = "trolyao.sender";

  function senderId() {
    var id = null;
    try { id = localStorage.getItem(SENDER_KEY); } catch (e) { /* private mode */ }
    if (!id) {
      id = "web-" + Math.random().toString(36).slice(2) + Date.now().toString(36);
      try { localStorage.setItem(SENDER_KEY, id); } catch (e) { /* ignore */ }
    }
    return id;
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text) node.textContent = text;
    return node;
  }

  // Safe rendering: text nodes only; [label](https://...) links and **bold** are recognised.
  function renderRich(container, text) {
    var pattern = /\[([^\]]+)\]\((https?:\/\/[^\s)]+)\)|\*\*([^*]+)\*\*/g;
    text.split(/\n/).forEach(function (line, i) {
      if (i) container.appendChild(document.createElement("br"));
      var last = 0, m;
      while ((m = pattern.exec(line))) {
        container.appendChild(document.createTextNode(line.slice(last, m.index)));
        if (m[1]) {
          var a = el("a", { href: m[2], target: "_blank", rel: "noopener noreferrer" }, m[1]);
          container.appendChild(a);
        } else {
          container.appendChild(el("strong", {}, m[3]));
        }
        last = pattern.lastIndex;
      }
      container.appendChild(document.createTextNode(line.slice(last)));
    });
  }

  var root = el("div", { class: "tly-root" });
  var toggle = el("button", { class: "tly-toggle", type: "button", "aria-expanded": "false",
                              "aria-controls": "tly-panel" }, "Hỏi trợ lý ảo");
  var panel = el("section", { id: "tly-panel", class: "tly-panel", role: "dialog",
                              "aria-label": title, hidden: "" });
  var header = el("header", { class: "tly-header" }, title);
  var log = el("div", { class: "tly-log", role: "log", "aria-live": "polite" });
  var form = el("form", { class: "tly-form" });
  var input = el("input", { type: "text", name: "message", maxlength: "1000", autocomplete: "off",
                            "aria-label": "Nhập câu hỏi", placeholder: "Nhập câu hỏi của anh/chị…" });
  var send = el("button", { type: "submit" }, "Gửi");
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(header); panel.appendChild(log); panel.appendChild(form);
  root.appendChild(panel); root.appendChild(toggle);

  function addMessage(who, text, extra) {
    var item = el("div", { class: "tly-msg tly-" + who });
    renderRich(item, text);
    if (extra && extra.sources && extra.sources.length) {
      var list = el("ul", { class: "tly-sources", "aria-label": "Nguồn" });
      extra.sources.slice(0, 3).forEach(function (s) {
        var li = el("li");
        if (/^https?:\/\//.test(s.url || "")) {
          li.appendChild(el("a", { href: s.url, target: "_blank", rel: "noopener noreferrer" }, s.title));
        } else { li.textContent = s.title; }
        list.appendChild(li);
      });
      item.appendChild(list);
    }
    if (extra && extra.buttons && extra.buttons.length) {
      var row = el("div", { class: "tly-buttons" });
      extra.buttons.forEach(function (b) {
        var btn = el("button", { type: "button", class: "tly-quick" }, b.title);
        btn.addEventListener("click", function () { ask(b.payload, b.title); });
        row.appendChild(btn);
      });
      item.appendChild(row);
    }
    log.appendChild(item);
    log.scrollTop = log.scrollHeight;
  }

  function ask(message, shown) {
    addMessage("user", shown || message);
    fetch(apiBase + "/api/chat", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: senderId(), message: message })
    }).then(function (r) { return r.json(); }).then(function (data) {
      if (data.error) { addMessage("bot", data.error.message || "Có lỗi, vui lòng thử lại."); return; }
      (data.messages || []).forEach(function (m, i, all) {
        addMessage("bot", m.text || "", { buttons: m.buttons,
          sources: i === all.length - 1 ? data.sources : [] });
      });
    }).catch(function () {
      addMessage("bot", "Không kết nối được máy chủ. Anh/chị vui lòng kiểm tra mạng và thử lại.");
    });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    ask(text);
  });
  toggle.addEventListener("click", function () {
    var open = panel.hasAttribute("hidden");
    if (open) { panel.removeAttribute("hidden"); input.focus(); } else { panel.setAttribute("hidden", ""); }
    toggle.setAttribute("aria-expanded", String(open));
  });

  var css = el("link", { rel: "stylesheet", href: apiBase + "/widget.css" });
  document.head.appendChild(css);
  document.body.appendChild(root);
})();
