/* PowerDesk chat widget: one <script src=".../widget.js" defer></script> tag on any page.
 * Everything a customer or the bot wrote is rendered with textContent, never as HTML. */
(function () {
  "use strict";
  var T = window.POWERDESK_TEXTS || {};
  var script = document.currentScript;
  var origin = script ? new URL(script.src, location.href).origin : location.origin;
  var wsOrigin = origin.replace(/^http/, "ws");
  // the session token (signed by the server, expiring) is kept in this site's storage; it never goes in a URL
  var KEY = "powerdesk.widget.session";
  var token = null;
  try { token = localStorage.getItem(KEY); } catch (e) { /* storage blocked: a session for this page only */ }
  var sessionReady = null;
  function renewSession() {
    sessionReady = fetch(origin + "/api/v1/widget/session", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ token: token })
    })
      .then(function (r) { if (!r.ok) throw new Error("session " + r.status); return r.json(); })
      .then(function (s) {
        token = s.token;
        try { localStorage.setItem(KEY, token); } catch (e) { /* keep for this page only */ }
        return token;
      });
    return sessionReady;
  }

  var host = document.createElement("div");
  host.id = "powerdesk-widget";
  document.body.appendChild(host);
  var root = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var css = document.createElement("style");
  css.textContent = [
    ":host{all:initial}",
    ".pd-launch{position:fixed;right:20px;bottom:20px;z-index:2147483000;background:#00706b;color:#fff;border:0;border-radius:24px;padding:12px 18px;font:15px/1.2 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;box-shadow:0 4px 14px rgba(0,0,0,.2);cursor:pointer}",
    ".pd-panel{position:fixed;right:20px;bottom:20px;z-index:2147483001;width:360px;max-width:calc(100vw - 24px);height:560px;max-height:calc(100vh - 40px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:none;flex-direction:column;overflow:hidden;font:15px/1.5 -apple-system,'PingFang SC','Microsoft YaHei',sans-serif;color:#1f2d3d}",
    ".pd-panel.open{display:flex}",
    "@media (max-width:520px){.pd-panel{right:0;bottom:0;width:100vw;max-width:100vw;height:100vh;max-height:100vh;border-radius:0}}",
    ".pd-head{background:#00706b;color:#fff;padding:12px 14px;display:flex;justify-content:space-between;align-items:center}",
    ".pd-head small{display:block;opacity:.85;font-size:12px}",
    ".pd-close{background:transparent;border:0;color:#fff;font-size:20px;cursor:pointer}",
    ".pd-log{flex:1;overflow-y:auto;padding:12px;background:#f4f7f6}",
    ".pd-msg{max-width:85%;margin:6px 0;padding:8px 12px;border-radius:10px;white-space:pre-wrap;word-break:break-word}",
    ".pd-in{margin-left:auto;background:#00706b;color:#fff;border-bottom-right-radius:2px}",
    ".pd-out{margin-right:auto;background:#fff;border:1px solid #dfe7e6;border-bottom-left-radius:2px}",
    ".pd-btns{display:flex;flex-wrap:wrap;gap:6px;margin:4px 0 8px}",
    ".pd-btn{border:1px solid #00706b;color:#00706b;background:#fff;border-radius:14px;padding:4px 10px;font-size:13px;cursor:pointer}",
    ".pd-status{font-size:12px;color:#b5523b;padding:0 12px;min-height:16px}",
    ".pd-form{display:flex;border-top:1px solid #dfe7e6;padding:8px;gap:8px}",
    ".pd-input{flex:1;border:1px solid #cfd8d7;border-radius:8px;padding:8px;font-size:15px}",
    ".pd-send{background:#00706b;color:#fff;border:0;border-radius:8px;padding:0 16px;font-size:15px;cursor:pointer}",
    ".pd-agent{border-color:#00706b}",
    ".pd-rating{background:#fff;border:1px solid #dfe7e6;border-radius:10px;padding:8px 12px;margin:6px 0}",
    ".pd-stars{display:flex;gap:4px;margin:4px 0}",
    ".pd-star{background:transparent;border:0;font-size:26px;line-height:1;color:#cfd8d7;cursor:pointer;padding:0 2px}",
    ".pd-star.on{color:#f0a500}",
    ".pd-notice{background:#fff8e6;border:1px solid #f0d28a;border-radius:10px;padding:8px 12px;margin:6px 0;white-space:pre-wrap;word-break:break-word}",
    ".pd-comment{width:100%;box-sizing:border-box;border:1px solid #cfd8d7;border-radius:6px;padding:6px;margin:4px 0}"
  ].join("\n");
  root.appendChild(css);

  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined) n.textContent = text;
    return n;
  }
  var launch = el("button", "pd-launch", T.open || "Chat");
  var panel = el("div", "pd-panel");
  panel.setAttribute("role", "dialog");
  var head = el("div", "pd-head");
  var title = el("div", "", T.title || "PowerDesk");
  title.appendChild(el("small", "", T.subtitle || ""));
  var close = el("button", "pd-close", "×");
  close.setAttribute("aria-label", T.close || "close");
  head.appendChild(title); head.appendChild(close);
  var log = el("div", "pd-log");
  log.setAttribute("aria-live", "polite");
  var status = el("div", "pd-status");
  var form = el("form", "pd-form");
  var input = el("input", "pd-input");
  input.placeholder = T.placeholder || "";
  input.maxLength = 2000;
  var send = el("button", "pd-send", T.send || "Send");
  send.type = "submit";
  form.appendChild(input); form.appendChild(send);
  panel.appendChild(head); panel.appendChild(log); panel.appendChild(status); panel.appendChild(form);
  root.appendChild(launch); root.appendChild(panel);

  var seen = {};  // message ids shown already: a pushed message appears once, even after a reconnect
  function addMessage(direction, text, buttons, sender) {
    if (text) log.appendChild(el("div", "pd-msg " + (direction === "in" ? "pd-in" : "pd-out") + (sender === "agent" ? " pd-agent" : ""), text));
    if (buttons && buttons.length) {
      var row = el("div", "pd-btns");
      buttons.forEach(function (b) {
        var btn = el("button", "pd-btn", b.title);
        btn.type = "button";
        btn.addEventListener("click", function () { submit(b.payload, b.title); });
        row.appendChild(btn);
      });
      log.appendChild(row);
    }
    log.scrollTop = log.scrollHeight;
  }
  function showReplies(replies) {
    (replies || []).forEach(function (r) {
      if (r.id) { if (seen[r.id]) return; seen[r.id] = true; }
      addMessage("out", r.text, r.buttons, r.sender);
      if (r.custom && r.custom.rating) showRating();
    });
  }
  var ratingBox = null;
  function showRating() {
    if (ratingBox) return;
    var score = 0;
    ratingBox = el("div", "pd-rating");
    ratingBox.appendChild(el("div", "", T.rating_title || ""));
    var stars = el("div", "pd-stars");
    for (var i = 1; i <= 5; i++) {
      (function (n) {
        var star = el("button", "pd-star", "★");
        star.type = "button";
        star.setAttribute("aria-label", (T.rating_star || "{n}").replace("{n}", n));
        star.setAttribute("data-score", n);
        star.addEventListener("click", function () {
          score = n;
          Array.prototype.forEach.call(stars.children, function (s, k) { s.className = "pd-star" + (k < n ? " on" : ""); });
        });
        stars.appendChild(star);
      })(i);
    }
    ratingBox.appendChild(stars);
    var comment = el("input", "pd-comment");
    comment.placeholder = T.rating_comment || ""; comment.maxLength = 500;
    ratingBox.appendChild(comment);
    var submitRating = el("button", "pd-btn", T.rating_submit || "OK");
    submitRating.type = "button";
    submitRating.addEventListener("click", function () {
      if (!score) return;
      var frame = JSON.stringify({ type: "rating", score: score, comment: comment.value });
      if (socket && authed && socket.readyState === 1) socket.send(frame); else queue.push(frame);
      ratingBox.remove(); ratingBox = null;
    });
    ratingBox.appendChild(submitRating);
    log.appendChild(ratingBox);
    log.scrollTop = log.scrollHeight;
  }

  var socket = null, queue = [], retry = 0, historyLoaded = false, authed = false;
  function reconnectLater() {
    retry = Math.min(retry + 1, 6);
    setTimeout(connect, 500 * Math.pow(2, retry - 1));
  }
  function connect() {
    (sessionReady || renewSession()).then(function () {
      authed = false;
      socket = new WebSocket(wsOrigin + "/api/v1/widget/ws");
      socket.onopen = function () { socket.send(JSON.stringify({ type: "auth", token: token })); };
      socket.onmessage = function (ev) {
        var data; try { data = JSON.parse(ev.data); } catch (e) { return; }
        if (data.type === "ready") {
          authed = true; retry = 0; status.textContent = "";
          while (queue.length) socket.send(queue.shift());
        } else if (data.type === "replies" || data.type === "push") showReplies(data.replies);
        else if (data.type === "error" && authed) {
          status.textContent = data.message || T.error || "";
          // not stored (the service's database was away): sent again a few seconds later, until it is stored
          if (data.code === "not_stored" && data.text) {
            var again = JSON.stringify({ text: data.text });
            setTimeout(function () { if (socket && authed && socket.readyState === 1) socket.send(again); else queue.push(again); }, 5000);
          }
        }
      };
      socket.onclose = function (ev) {
        authed = false;
        status.textContent = T.offline || "";
        if (ev.code === 4401) sessionReady = null;  // the session expired: a new one before reconnecting
        reconnectLater();
      };
    }, function () { status.textContent = T.offline || ""; sessionReady = null; reconnectLater(); });
  }
  function submit(text, shown) {
    text = (text || "").trim();
    if (!text) return;
    addMessage("in", shown || text);
    var frame = JSON.stringify({ text: text });
    if (socket && authed && socket.readyState === 1) socket.send(frame); else queue.push(frame);
  }
  function loadHistory() {
    return (sessionReady || renewSession())
      .then(function () { return fetch(origin + "/api/v1/widget/history", { headers: { Authorization: "Bearer " + token } }); })
      .then(function (r) { return r.ok ? r.json() : { messages: [] }; })
      .then(function (h) {
        var titles = {};  // quick-reply payloads are shown by their titles, as when they were clicked
        var msgs = h.messages || [];
        (h.notices || []).forEach(function (n) { log.appendChild(el("div", "pd-notice", n.text)); });
        msgs.forEach(function (m) {
          if (m.id) { if (seen[m.id]) return; seen[m.id] = true; }
          (m.buttons || []).forEach(function (b) { titles[b.payload] = b.title; });
          var shown = m.direction === "in" && titles[m.text] ? titles[m.text] : m.text;
          addMessage(m.direction, shown, m.buttons, m.sender);
        });
        var last = msgs[msgs.length - 1];
        if (h.state === "closed" && last && last.custom && last.custom.rating) showRating();
        return (h.messages || []).length;
      })
      .catch(function () { return 0; });
  }
  function open() {
    panel.classList.add("open"); launch.style.display = "none"; input.focus();
    if (!historyLoaded) {
      historyLoaded = true;
      loadHistory().then(function (n) { if (!n) submit(T.welcome_prompt || "你好"); });
    }
  }
  launch.addEventListener("click", open);
  close.addEventListener("click", function () { panel.classList.remove("open"); launch.style.display = ""; });
  form.addEventListener("submit", function (ev) { ev.preventDefault(); submit(input.value); input.value = ""; });
  connect();
  window.PowerDeskWidget = { open: open };
})();
