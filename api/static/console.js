/* PowerDesk agent console: live queue, live transcript, replies. Everything from customers is
 * rendered with textContent, never as HTML. The CSRF token comes from <body data-csrf>. */
(function () {
  "use strict";
  var body = document.body;
  var page = body.getAttribute("data-page");
  var csrf = body.getAttribute("data-csrf") || "";
  var labels = {};
  try { labels = JSON.parse(body.getAttribute("data-labels") || "{}"); } catch (e) { labels = {}; }
  function zh(group, code) { return (labels[group] || {})[code] || code; }  /* data/labels.yml */
  if (page === "login" || page === "error") return;

  function $(id) { return document.getElementById(id); }
  function el(tag, cls, text) {
    var n = document.createElement(tag);
    if (cls) n.className = cls;
    if (text !== undefined && text !== null) n.textContent = String(text);
    return n;
  }
  function status(text) { var s = $("status"); if (s) s.textContent = text || ""; }
  function api(method, path, data) {
    var opts = { method: method, credentials: "same-origin", headers: { "X-CSRF-Token": csrf } };
    if (data !== undefined) { opts.headers["Content-Type"] = "application/json"; opts.body = JSON.stringify(data); }
    return fetch(path, opts).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { if (r.status === 401) location.href = "/console/login"; throw new Error(j.message || ("HTTP " + r.status)); }
        return j;
      });
    });
  }

  // --- websocket ---------------------------------------------------------------------------
  var socket = null, retry = 0, handlers = [], onOpen = [];
  function connect() {
    socket = new WebSocket(location.origin.replace(/^http/, "ws") + "/console/ws");
    socket.onopen = function () {
      retry = 0; var live = $("live"); if (live) live.className = "live on";
      onOpen.forEach(function (f) { f(); });
    };
    socket.onmessage = function (ev) {
      var data; try { data = JSON.parse(ev.data); } catch (e) { return; }
      handlers.forEach(function (h) { h(data); });
    };
    socket.onclose = function (ev) {
      var live = $("live"); if (live) live.className = "live";
      if (ev.code === 4401) { location.href = "/console/login"; return; }
      retry = Math.min(retry + 1, 6);
      setTimeout(connect, 500 * Math.pow(2, retry - 1));
    };
  }
  function send(obj) { if (socket && socket.readyState === 1) socket.send(JSON.stringify(obj)); }
  setInterval(function () { send({ type: "ping" }); }, 15000);

  // --- queue page ----------------------------------------------------------------------------
  function caseRow(c, claim) {
    var li = el("li", "case prio-" + (c.priority >= 8 ? "high" : "normal"));
    li.setAttribute("data-id", c.handoff_id);
    var a = el("a", "", "#" + c.handoff_id); a.href = "/console/cases/" + c.handoff_id; li.appendChild(a);
    li.appendChild(el("span", "reason", zh("reason", c.reason)));
    li.appendChild(el("span", "wait", Math.round(c.waiting_s) + " 秒"));
    li.appendChild(el("span", "summary", c.summary));
    if (claim) {
      var b = el("button", "claim", "接入"); b.type = "button"; b.setAttribute("data-id", c.handoff_id); li.appendChild(b);
    }
    return li;
  }
  function refreshQueue() {
    return api("GET", "/console/api/queue").then(function (q) {
      var w = $("waiting"), m = $("mine");
      w.replaceChildren.apply(w, q.waiting.map(function (c) { return caseRow(c, true); }));
      m.replaceChildren.apply(m, q.mine.map(function (c) { return caseRow(c, false); }));
      $("waiting-count").textContent = q.waiting.length; $("mine-count").textContent = q.mine.length;
    }).catch(function (e) { status(e.message); });
  }
  function claim(id) {
    return api("POST", "/console/api/cases/" + id + "/claim").then(function () {
      location.href = "/console/cases/" + id;
    }).catch(function (e) { status(e.message); refreshQueue(); });
  }
  if (page === "queue") {
    $("waiting").addEventListener("click", function (ev) {
      var t = ev.target; if (t && t.classList.contains("claim")) claim(t.getAttribute("data-id"));
    });
    handlers.push(function (d) { if (d.type === "queue" || d.type === "transferred" || d.type === "rated") refreshQueue(); });
    onOpen.push(refreshQueue);
  }

  // --- case page -------------------------------------------------------------------------------
  if (page === "case") {
    var handoff = parseInt(body.getAttribute("data-handoff"), 10);
    var transcript = $("transcript");
    var seen = {};
    Array.prototype.forEach.call(transcript.children, function (li) { seen[li.getAttribute("data-id")] = true; });
    var lastId = function () {
      var ids = Object.keys(seen).map(Number); return ids.length ? Math.max.apply(null, ids) : 0;
    };
    var addMessage = function (m) {
      if (seen[m.id]) return;
      seen[m.id] = true;
      var li = el("li", "msg msg-" + m.sender); li.setAttribute("data-id", m.id);
      li.appendChild(el("span", "who", m.agent || m.sender));
      li.appendChild(el("span", "text", m.text));
      transcript.appendChild(li);
      transcript.scrollTop = transcript.scrollHeight;
      if (m.direction === "in") loadSuggestions();
    };
    var catchUp = function () {
      api("GET", "/console/api/cases/" + handoff + "/messages?after=" + lastId()).then(function (r) {
        r.messages.forEach(addMessage); setStatus(r.case.status);
      }).catch(function (e) { status(e.message); });
    };
    var setStatus = function (s) {
      $("case-status").textContent = zh("case_status", s);
      body.setAttribute("data-status", s);
      var claimed = s === "claimed";
      $("reply-form").hidden = !claimed; $("case-actions").hidden = !claimed;
      var c = $("claim"); if (c) c.hidden = s !== "waiting";
    };
    var loadSuggestions = function () {
      api("GET", "/console/api/cases/" + handoff + "/suggestions").then(function (r) {
        var list = $("suggestions");
        if (r.error || !r.hits.length) { list.replaceChildren(el("li", "hint", r.error ? "知识库暂不可用" : "暂无建议")); return; }
        list.replaceChildren.apply(list, r.hits.map(function (h) {
          var li = el("li", "suggestion");
          li.appendChild(el("strong", "", h.title));
          li.appendChild(el("p", "", h.answer));
          li.appendChild(el("small", "", h.source + " · " + h.score));
          var b = el("button", "", "插入回复"); b.type = "button";
          b.addEventListener("click", function () { $("reply-text").value = h.answer; $("reply-text").focus(); });
          li.appendChild(b);
          return li;
        }));
      }).catch(function () { $("suggestions").replaceChildren(el("li", "hint", "知识库暂不可用")); });
    };
    handlers.push(function (d) {
      if (d.type === "message" && d.message) addMessage(d.message);
      else if (d.type === "closed") setStatus("closed");
      else if (d.type === "error") status(d.message);
    });
    onOpen.push(function () { send({ type: "watch", handoff_id: handoff }); catchUp(); });
    var claimButton = $("claim");
    if (claimButton) claimButton.addEventListener("click", function () {
      api("POST", "/console/api/cases/" + handoff + "/claim").then(function (c) { setStatus(c.status); catchUp(); })
        .catch(function (e) { status(e.message); });
    });
    $("canned").addEventListener("change", function (ev) {
      var opt = ev.target.selectedOptions[0];
      if (opt && opt.getAttribute("data-text")) { $("reply-text").value = opt.getAttribute("data-text"); $("reply-text").focus(); }
      ev.target.value = "";
    });
    var sendReply = function () {
      var box = $("reply-text"), text = box.value.trim();
      if (!text) return;
      box.disabled = true;
      api("POST", "/console/api/cases/" + handoff + "/reply", { text: text }).then(function (m) {
        addMessage(m); box.value = ""; status("");
      }).catch(function (e) { status(e.message); }).then(function () { box.disabled = false; box.focus(); });
    };
    $("reply-form").addEventListener("submit", function (ev) { ev.preventDefault(); sendReply(); });
    $("reply-text").addEventListener("keydown", function (ev) {
      if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendReply(); }
    });
    $("transfer-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/console/api/cases/" + handoff + "/transfer", { to: $("transfer-to").value })
        .then(function () { location.href = "/console"; }).catch(function (e) { status(e.message); });
    });
    $("close-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      api("POST", "/console/api/cases/" + handoff + "/close", { resolution: $("resolution").value, note: $("close-note").value })
        .then(function (c) { setStatus(c.status); status("会话已结束，已邀请客户评价。"); })
        .catch(function (e) { status(e.message); });
    });
    loadSuggestions();
  }

  // --- supervisor page -------------------------------------------------------------------------
  if (page === "supervisor") {
    var refreshNumbers = function () {
      api("GET", "/console/api/supervisor").then(function (n) {
        Array.prototype.forEach.call(document.querySelectorAll("#numbers dd"), function (dd) {
          var v = n[dd.getAttribute("data-k")];
          dd.textContent = Array.isArray(v) ? (v.join("、") || "无") : (v === null ? "—" : v);
        });
        var byReason = $("by-reason"), perAgent = $("per-agent");
        byReason.replaceChildren.apply(byReason, Object.keys(n.waiting_by_reason).map(function (k) { return el("li", "", zh("reason", k) + "：" + n.waiting_by_reason[k]); }));
        perAgent.replaceChildren.apply(perAgent, Object.keys(n.cases_per_agent).map(function (k) { return el("li", "", k + "：" + n.cases_per_agent[k]); }));
      }).catch(function (e) { status(e.message); });
    };
    handlers.push(function (d) { if (d.type === "queue" || d.type === "rated") refreshNumbers(); });
    setInterval(refreshNumbers, 5000);
  }
  connect();
})();
