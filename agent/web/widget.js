/*!
 * Support agent chat widget. One tag on any page, no build step:
 *
 *   <script src="https://support.example.com/widget.js" data-server="https://support.example.com" defer></script>
 *
 * Optional attributes: data-title ("Customer support"), data-subtitle, data-greeting, data-accent (a CSS colour),
 * data-open ("true" opens the panel on load), data-lang (the conversation's language; default: the page's
 * <html lang>). Its labels come from the server's catalogs (GET /api/labels?lang=...), and follow the
 * conversation's language when the customer writes in another one. A small API: window.SupportAgentWidget.open() / .close().
 *
 * Talks to the server's JSON + Server-Sent-Events API (see agent/server.py). The session id and
 * token live in sessionStorage, so a reload of the page resumes the conversation.
 */
(function () {
  "use strict";
  if (window.SupportAgentWidget) return;

  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var scriptSrc = script && script.src ? new URL(script.src, location.href) : new URL(location.href);
  var attr = function (name, fallback) {
    var v = script && script.getAttribute("data-" + name);
    return v === null || v === undefined || v === "" ? fallback : v;
  };
  var SERVER = attr("server", scriptSrc.origin).replace(/\/+$/, "");
  var LANG = attr("lang", document.documentElement.lang || "en");
  // English until the server's labels for LANG arrive (agent/labels.py WIDGET)
  var L = {
    title: "Customer support", subtitle: "Orders, deliveries and returns",
    greeting: "Hi! I can help with your orders, deliveries, returns and account. To look at an order I'll first need your email address and zip code.",
    launcher: "Chat with us", open_chat: "Open chat: {title}", close_chat_title: "Close chat: {title}", close_chat: "Close chat",
    placeholder: "Type your message…", send: "Send message", your_message: "Your message",
    hint: "Enter to send · Shift+Enter for a new line", you: "You", support: "Support", confirm: "Confirm", cancel: "Cancel",
    cancel_long: "Cancel, do not make this change", confirm_title: "Please confirm this change", done: "Done.",
    not_changed: "Not changed.", failed: "This could not be done.", request_failed: "The request failed.",
    checking: "Checking the answer…", working: "Working on it…", wrong: "Something went wrong.", thinking: "Thinking…",
    reconnecting: "Reconnecting…", connecting: "Connecting…", unreachable: "We can't reach the chat service right now.",
    try_again: "Try again", reconnect_in: "Connection lost. Reconnecting in {seconds} s…",
    reconnected: "Reconnected. Waiting for the answer…",
    too_fast: "You're sending messages a little fast. Please wait {seconds} seconds and try again.",
    too_long: "That message is too long ({limit} characters at most).", cant_start: "We couldn't start the chat. Please try again.",
    ended: "That conversation has ended. Send your message again to start a new one.", confirming: "Confirming…",
    cancelling: "Cancelling…", already_answered: "This was already answered.", you_confirmed: "You confirmed the change.",
    you_declined: "You declined the change.", cant_load: "We couldn't load your conversation. Your next message will try again.",
    chars_left: "{count} characters left"
  };
  function tr(key, params) {
    return (L[key] || key).replace(/\{(\w+)\}/g, function (m, name) { return params && name in params ? params[name] : m; });
  }
  var TITLE = function () { return attr("title", tr("title")); };
  var GREETING = function () { return attr("greeting", tr("greeting")); };
  var SUBTITLE = function () { return attr("subtitle", tr("subtitle")); };
  var MAX_CHARS = parseInt(attr("max-chars", "2000"), 10) || 2000;
  var STORE_KEY = "support-agent-session:" + SERVER;
  var BACKOFF = [1, 2, 4, 8, 15, 30];

  // ---- small helpers ------------------------------------------------------------------------
  function el(tag, props, children) {
    var node = document.createElement(tag);
    if (props) {
      Object.keys(props).forEach(function (k) {
        if (k === "text") node.textContent = props[k];
        else if (k === "className") node.className = props[k];
        else if (k === "hidden") node.hidden = !!props[k];
        else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), props[k]);
        else node.setAttribute(k, props[k]);
      });
    }
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }
  function svg(path, size, cls) {
    var ns = "http://www.w3.org/2000/svg";
    var s = document.createElementNS(ns, "svg");
    s.setAttribute("viewBox", "0 0 24 24");
    s.setAttribute("width", size || 24);
    s.setAttribute("height", size || 24);
    s.setAttribute("aria-hidden", "true");
    s.setAttribute("focusable", "false");
    if (cls) s.setAttribute("class", cls);
    var p = document.createElementNS(ns, "path");
    p.setAttribute("d", path);
    p.setAttribute("fill", "currentColor");
    s.appendChild(p);
    return s;
  }
  var ICON_CHAT = "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H8.5L4 21.5V18a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z";
  var ICON_CLOSE = "M6.4 5 12 10.6 17.6 5 19 6.4 13.4 12l5.6 5.6-1.4 1.4-5.6-5.6L6.4 19 5 17.6l5.6-5.6L5 6.4z";
  var ICON_SEND = "M3 20.5v-6.2L13 12 3 9.7V3.5L22 12z";
  function sleep(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }

  function ApiError(status, code, message, retryAfter) {
    this.status = status; this.code = code; this.message = message; this.retryAfter = retryAfter;
  }
  function NetworkError(accepted, cause) { this.accepted = accepted; this.cause = cause; }

  // ---- state --------------------------------------------------------------------------------
  var session = null; // {id, token}
  try { session = JSON.parse(sessionStorage.getItem(STORE_KEY) || "null"); } catch (e) { session = null; }
  var busy = false;
  var loaded = false;
  var cards = {}; // action_id -> card element
  var retryNow = null;

  // ---- DOM ----------------------------------------------------------------------------------
  var host = el("div", { id: "support-agent-widget" });
  var shadow = host.attachShadow ? host.attachShadow({ mode: "open" }) : host;
  var accent = attr("accent", "");
  if (accent) host.style.setProperty("--sa-accent", accent);
  var root = el("div", { className: "sa-root", style: "display:none" });
  var link = el("link", { rel: "stylesheet", href: SERVER + "/widget.css" });
  var showRoot = function () { root.style.display = ""; };
  link.addEventListener("load", showRoot);
  link.addEventListener("error", showRoot);
  setTimeout(showRoot, 3000);

  var launcher = el("button", {
    type: "button", className: "sa-launcher", "aria-label": tr("open_chat", { title: TITLE() }),
    "aria-expanded": "false", "aria-controls": "sa-panel", "aria-haspopup": "dialog"
  }, [svg(ICON_CHAT, 26, "sa-icon-open"), svg(ICON_CLOSE, 24, "sa-icon-close"), el("span", { className: "sa-launcher-text", text: tr("launcher") })]);

  var title = el("h2", { id: "sa-title", className: "sa-title", text: TITLE() });
  var closeBtn = el("button", { type: "button", className: "sa-icon-btn", "aria-label": tr("close_chat"), onclick: function () { close(); } },
    [svg(ICON_CLOSE, 20)]);
  var banner = el("div", { className: "sa-banner", role: "status", "aria-live": "polite", hidden: true });
  var log = el("div", { className: "sa-log", role: "log", "aria-live": "polite", "aria-relevant": "additions text",
    "aria-labelledby": "sa-title", tabindex: "0" });
  var activityText = el("span", { className: "sa-activity-text" });
  var activity = el("div", { className: "sa-activity", role: "status", "aria-live": "polite", hidden: true },
    [el("span", { className: "sa-dots", "aria-hidden": "true" }, [el("i"), el("i"), el("i")]), activityText]);
  var input = el("textarea", {
    id: "sa-input", className: "sa-input", rows: "1", maxlength: String(MAX_CHARS), placeholder: tr("placeholder"),
    "aria-describedby": "sa-hint", enterkeyhint: "send", autocomplete: "off"
  });
  var counter = el("span", { className: "sa-counter", "aria-live": "polite", hidden: true });
  var sendBtn = el("button", { type: "submit", className: "sa-send", "aria-label": tr("send") }, [svg(ICON_SEND, 20)]);
  var form = el("form", { className: "sa-composer" }, [
    el("label", { "for": "sa-input", className: "sa-visually-hidden", text: tr("your_message") }),
    input, sendBtn
  ]);
  var hint = el("p", { id: "sa-hint", className: "sa-hint" }, [tr("hint"), counter]);
  var panel = el("section", {
    id: "sa-panel", className: "sa-panel", role: "dialog", "aria-modal": "false", "aria-labelledby": "sa-title", hidden: true
  }, [
    el("header", { className: "sa-header" }, [
      el("span", { className: "sa-avatar", "aria-hidden": "true" }, [svg(ICON_CHAT, 20)]),
      el("div", { className: "sa-heading" }, [title, el("p", { className: "sa-subtitle", text: SUBTITLE() })]),
      closeBtn
    ]),
    banner, log, activity, form, hint
  ]);
  root.appendChild(panel);
  root.appendChild(launcher);
  shadow.appendChild(link);
  shadow.appendChild(root);

  function mount() {
    document.body.appendChild(host);
    if (attr("open", "") === "true") open();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);

  // ---- labels in the conversation's language ------------------------------------------------
  var labelsLang = "en";
  async function loadLabels(lang) {
    if (!lang || lang === labelsLang) return;
    labelsLang = lang;
    try {
      var res = await fetch(SERVER + "/api/labels?lang=" + encodeURIComponent(lang), { cache: "force-cache" });
      if (!res.ok) return;
      L = Object.assign({}, L, (await res.json()).labels);
    } catch (e) { return; }
    applyLabels(lang);
  }
  function applyLabels(lang) {
    panel.setAttribute("lang", lang);
    launcher.setAttribute("lang", lang);
    title.textContent = TITLE();
    panel.querySelector(".sa-subtitle").textContent = SUBTITLE();
    launcher.querySelector(".sa-launcher-text").textContent = tr("launcher");
    launcher.setAttribute("aria-label", tr(panel.hidden ? "open_chat" : "close_chat_title", { title: TITLE() }));
    closeBtn.setAttribute("aria-label", tr("close_chat"));
    input.setAttribute("placeholder", tr("placeholder"));
    sendBtn.setAttribute("aria-label", tr("send"));
    form.querySelector("label").textContent = tr("your_message");
    hint.firstChild.textContent = tr("hint");
    var greeting = log.querySelector(".sa-msg-greeting .sa-msg-text");
    if (greeting) greeting.textContent = GREETING();
    Object.keys(cards).forEach(function (id) {
      var card = cards[id];
      card.querySelector(".sa-card-title").textContent = tr("confirm_title");
      card._buttons[0].textContent = tr("confirm");
      card._buttons[1].textContent = tr("cancel");
      card._buttons[1].setAttribute("aria-label", tr("cancel_long"));
    });
  }
  loadLabels(LANG.split("-")[0] === "en" ? "" : LANG);

  // ---- open / close -------------------------------------------------------------------------
  function open() {
    panel.hidden = false;
    root.classList.add("sa-is-open");
    launcher.setAttribute("aria-expanded", "true");
    launcher.setAttribute("aria-label", tr("close_chat_title", { title: TITLE() }));
    if (!loaded) { loaded = true; resume(); }
    setTimeout(function () { input.focus(); scrollDown(true); }, 0);
  }
  function close() {
    panel.hidden = true;
    root.classList.remove("sa-is-open");
    launcher.setAttribute("aria-expanded", "false");
    launcher.setAttribute("aria-label", tr("open_chat", { title: TITLE() }));
    launcher.focus();
  }
  launcher.onclick = function () { if (panel.hidden) open(); else close(); };
  panel.addEventListener("keydown", function (e) {
    if (e.key === "Escape") { e.preventDefault(); close(); }
  });

  // ---- the log ------------------------------------------------------------------------------
  function nearBottom() { return log.scrollHeight - log.scrollTop - log.clientHeight < 80; }
  function scrollDown(force) { if (force || nearBottom()) log.scrollTop = log.scrollHeight; }
  function addMessage(role, text, extra) {
    var label = role === "user" ? tr("you") : role === "agent" ? tr("support") : "";
    var node = el("div", { className: "sa-msg sa-msg-" + role + (extra ? " " + extra : "") });
    if (label) node.appendChild(el("span", { className: "sa-visually-hidden", text: label + ": " }));
    var body = el("span", { className: "sa-msg-text", text: text || "" });
    node.appendChild(body);
    node._text = body;
    var stick = nearBottom();
    log.appendChild(node);
    scrollDown(stick);
    return node;
  }
  function addNote(text) { return addMessage("note", text); }
  function showActivity(text) { activityText.textContent = text; activity.hidden = false; scrollDown(); }
  function hideActivity() { activity.hidden = true; activityText.textContent = ""; }
  function showBanner(text, action) {
    banner.textContent = "";
    banner.appendChild(el("span", { text: text }));
    if (action) banner.appendChild(el("button", { type: "button", className: "sa-link-btn", text: action.label, onclick: action.run }));
    banner.hidden = false;
  }
  function hideBanner() { banner.hidden = true; banner.textContent = ""; }

  function renderGreeting() { addMessage("agent", GREETING(), "sa-msg-greeting"); }

  function renderCard(action) {
    if (cards[action.id]) return cards[action.id];
    var titleId = "sa-card-" + action.id;
    var status = el("p", { className: "sa-card-status", role: "status", hidden: true });
    var yes = el("button", { type: "button", className: "sa-btn sa-btn-primary", text: tr("confirm") });
    var no = el("button", { type: "button", className: "sa-btn sa-btn-secondary", text: tr("cancel"),
      "aria-label": tr("cancel_long") });
    var card = el("div", { className: "sa-card", role: "group", "aria-labelledby": titleId, "data-action-id": action.id }, [
      el("p", { className: "sa-card-title", id: titleId, text: tr("confirm_title") }),
      el("p", { className: "sa-card-summary", text: action.summary }),
      el("div", { className: "sa-card-actions" }, [yes, no]),
      status
    ]);
    card._buttons = [yes, no];
    card._status = status;
    yes.addEventListener("click", function () { resolveAction(action.id, true); });
    no.addEventListener("click", function () { resolveAction(action.id, false); });
    cards[action.id] = card;
    var stick = nearBottom();
    log.appendChild(card);
    scrollDown(stick);
    return card;
  }
  function settleCard(id, state, text) {
    var card = cards[id];
    if (!card) return;
    card._buttons.forEach(function (b) { b.disabled = true; });
    card.classList.remove("sa-card-working");
    if (state) card.setAttribute("data-state", state);
    if (state && state !== "working") card.querySelector(".sa-card-actions").hidden = true;
    card._status.textContent = text;
    card._status.hidden = !text;
  }
  var RESOLVED = { executed: "done", declined: "not_changed", failed: "failed" };

  // ---- the API ------------------------------------------------------------------------------
  function headers(json) {
    var h = { "Accept": "application/json" };
    if (json) h["Content-Type"] = "application/json";
    if (session) h["Authorization"] = "Bearer " + session.token;
    return h;
  }
  async function readError(res) {
    var body = null;
    try { body = await res.json(); } catch (e) { body = null; }
    var err = (body && body.error) || {};
    var retry = parseInt(res.headers.get("Retry-After") || "0", 10) || 0;
    return new ApiError(res.status, err.code || "http_" + res.status, err.message || tr("request_failed"), retry);
  }
  async function getJSON(path) {
    var res;
    try { res = await fetch(SERVER + path, { headers: headers(false), cache: "no-store" }); }
    catch (e) { throw new NetworkError(false, e); }
    if (!res.ok) throw await readError(res);
    return res.json();
  }
  async function createSession() {
    var res;
    try { res = await fetch(SERVER + "/api/sessions?lang=" + encodeURIComponent(LANG), { method: "POST", headers: { "Accept": "application/json" } }); }
    catch (e) { throw new NetworkError(false, e); }
    if (!res.ok) throw await readError(res);
    var body = await res.json();
    session = { id: body.session_id, token: body.token };
    try { sessionStorage.setItem(STORE_KEY, JSON.stringify(session)); } catch (e) { /* private mode: no resume */ }
  }
  function forgetSession() {
    session = null;
    try { sessionStorage.removeItem(STORE_KEY); } catch (e) { /* ignore */ }
  }

  // POST and read the Server-Sent Events of the answer; onEvent(type, data) for each.
  async function postStream(path, payload, onEvent) {
    var res;
    try {
      res = await fetch(SERVER + path, {
        method: "POST", headers: Object.assign(headers(true), { "Accept": "text/event-stream" }),
        body: JSON.stringify(payload || {}), cache: "no-store"
      });
    } catch (e) { throw new NetworkError(false, e); }
    if (!res.ok) throw await readError(res);
    if (!res.body || !res.body.getReader) { parseSSE(await res.text() + "\n\n", onEvent); return; }
    var reader = res.body.getReader();
    var decoder = new TextDecoder();
    var buffer = "";
    try {
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        buffer = parseSSE(buffer, onEvent);
      }
    } catch (e) { throw new NetworkError(true, e); }
    parseSSE(buffer + "\n\n", onEvent);
  }
  // Dispatch every complete event block in `buffer`; return the incomplete rest.
  function parseSSE(buffer, onEvent) {
    var sep = /\r\n\r\n|\n\n|\r\r/;
    var m;
    while ((m = sep.exec(buffer))) {
      var block = buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
      var type = "message", data = [];
      block.split(/\r\n|\n|\r/).forEach(function (line) {
        if (!line || line.charAt(0) === ":") return;
        var i = line.indexOf(":");
        var field = i < 0 ? line : line.slice(0, i);
        var value = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
        if (field === "event") type = value;
        else if (field === "data") data.push(value);
      });
      if (!data.length) continue;
      var parsed;
      try { parsed = JSON.parse(data.join("\n")); } catch (e) { parsed = { text: data.join("\n") }; }
      onEvent(type, parsed);
    }
    return buffer;
  }

  // ---- one turn -----------------------------------------------------------------------------
  // The text of a reply, less the confirmation question when a card asks it with buttons.
  function withoutQuestion(text, summary) {
    if (!summary) return text;
    var i = text.indexOf(summary);
    return i < 0 ? text : text.slice(0, i).replace(/\s+$/, "");
  }

  function TurnView() {
    this.bubble = null; this.errorText = null; this.text = ""; this.summary = null;
    this.done = false; this.failed = false;
  }
  TurnView.prototype.ensureBubble = function () {
    if (!this.bubble) { this.bubble = addMessage("agent", ""); this.bubble.setAttribute("aria-busy", "true"); }
    return this.bubble;
  };
  TurnView.prototype.render = function () {
    var b = this.ensureBubble();
    var shown = withoutQuestion(this.text, this.summary);
    var stick = nearBottom();
    b._text.textContent = shown;
    b.hidden = !shown;
    scrollDown(stick);
  };
  TurnView.prototype.handle = function (type, data) {
    switch (type) {
      case "text_delta":
        hideActivity();
        var b = this.ensureBubble();
        if (!this.text && this.errorText && (data.text || "").trim() === this.errorText.trim()) b.classList.add("sa-msg-notice");
        this.text += data.text || "";
        this.render();
        break;
      case "text_reset":
        this.text = "";
        if (this.bubble) this.render();
        showActivity(tr("checking"));
        break;
      case "tool_call":
        showActivity(data.label || tr("working"));
        break;
      case "confirmation_requested":
        this.summary = data.summary;
        this.ensureBubble().hidden = !this.text;
        renderCard({ id: data.action_id, summary: data.summary });
        if (this.text) this.render();
        break;
      case "action_resolved":
        settleCard(data.action_id, data.status, RESOLVED[data.status] ? tr(RESOLVED[data.status]) : "");
        break;
      case "turn_done":
        this.done = true;
        if (data.lang) loadLabels(data.lang);
        if (!this.text && data.text) this.handle("text_delta", { text: data.text });
        if (data.pending_action) renderCard(data.pending_action);
        break;
      case "error":
        this.errorText = data.message || tr("wrong");
        if (data.code === "turn_failed") {
          this.failed = true;
          hideActivity();
          addMessage("agent", this.errorText, "sa-msg-notice");
        }
        break;
    }
  };
  TurnView.prototype.finish = function () {
    hideActivity();
    if (this.bubble) {
      this.bubble.removeAttribute("aria-busy");
      if (!withoutQuestion(this.text, this.summary)) this.bubble.remove();
    }
  };

  function setBusy(on, label) {
    busy = on;
    sendBtn.disabled = on;
    log.setAttribute("aria-busy", on ? "true" : "false");
    if (on) showActivity(label || tr("thinking")); else hideActivity();
  }
  async function resyncBusy() {
    setBusy(true, tr("reconnecting"));
    try { return await resync(); } finally { setBusy(false); }
  }

  async function ensureSession() {
    if (session) return;
    await withRetry(function () { return createSession(); }, tr("connecting"));
  }

  // Retry `fn` on network errors with backoff, telling the customer calmly.
  async function withRetry(fn, what) {
    for (var attempt = 0; ; attempt++) {
      try {
        var out = await fn();
        hideBanner();
        return out;
      } catch (e) {
        if (!(e instanceof NetworkError) && !(e instanceof ApiError && e.status === 503)) throw e;
        if (attempt >= BACKOFF.length) {
          await new Promise(function (resolve) {
            retryNow = resolve;
            showBanner(tr("unreachable"), { label: tr("try_again"), run: function () { resolve(); } });
          });
          attempt = -1;
          continue;
        }
        var wait = BACKOFF[attempt] * (0.8 + Math.random() * 0.4);
        showBanner(tr("reconnect_in", { seconds: Math.round(wait) }));
        await Promise.race([sleep(wait * 1000), new Promise(function (r) { retryNow = r; })]);
        showBanner(what || tr("reconnecting"));
      }
    }
  }
  window.addEventListener("online", function () { if (retryNow) retryNow(); });

  // After a broken stream or an unknown outcome: wait until the server has finished the turn, then
  // show the conversation as the server has it. Returns the transcript.
  async function resync() {
    for (var i = 0; ; i++) {
      var t = await withRetry(function () { return getJSON("/api/sessions/" + session.id + "/transcript"); }, tr("reconnecting"));
      if (!t.busy) { renderTranscript(t); hideBanner(); return t; }
      showBanner(tr("reconnected"));
      await sleep(Math.min(500 * (i + 1), 3000));
    }
  }

  // Run one streamed exchange. Resolves to "ok", "lost" (the request may never have reached the
  // server: the caller checks the transcript and sends again if needed) or an ApiError (refused).
  async function runTurn(path, payload) {
    var view = new TurnView();
    setBusy(true);
    try {
      await postStream(path, payload, function (type, data) { view.handle(type, data); });
      if (!view.done && !view.failed) {
        // The stream ended early (a proxy or the network cut it): the server still finishes the
        // turn, so show the conversation as it has it.
        view.finish();
        await resync();
      }
      return "ok";
    } catch (e) {
      if (e instanceof ApiError && e.status === 503) {  // not taken (the server was busy): check, then send again
        await sleep((e.retryAfter || 2) * 1000);
        return "lost";
      }
      if (e instanceof ApiError) return e;
      if (!(e instanceof NetworkError)) throw e;
      if (!e.accepted) return "lost";
      // The server has the turn and finishes it without us; show its outcome once it is done.
      view.finish();
      await resync();
      return "ok";
    } finally {
      view.finish();
      setBusy(false);
    }
  }

  function refusedMessage(e) {
    if (e.code === "rate_limited") return tr("too_fast", { seconds: e.retryAfter || 10 });
    if (e.code === "turn_in_progress") return "I'm still answering your previous message, one moment.";
    if (e.code === "message_too_long") return tr("too_long", { limit: MAX_CHARS });
    return e.message;
  }
  function lastUserMessage(t) {
    for (var i = t.messages.length - 1; i >= 0; i--) if (t.messages[i].role === "user") return t.messages[i].content;
    return null;
  }

  async function send(text) {
    if (busy) return;
    text = text.trim();
    if (!text) return;
    if (text.length > MAX_CHARS) { addNote(refusedMessage({ code: "message_too_long" })); return; }
    input.value = "";
    autosize();
    var bubble = addMessage("user", text);
    scrollDown(true);
    var restore = function (note) { bubble.remove(); input.value = text; autosize(); if (note) addNote(note); };
    setBusy(true);
    try {
      await ensureSession();
    } catch (e) {
      setBusy(false);
      restore(e instanceof ApiError ? refusedMessage(e) : tr("cant_start"));
      return;
    }
    for (;;) {
      var outcome = await runTurn("/api/sessions/" + session.id + "/messages", { text: text });
      if (outcome === "lost") {
        var t = await resyncBusy();
        if ((lastUserMessage(t) || "").trim() === text) break; // it did arrive
        bubble = addMessage("user", text);
        continue;
      }
      if (outcome instanceof ApiError) {
        if (outcome.status === 404 || outcome.status === 401 || outcome.status === 403) {
          forgetSession(); // the conversation is gone on the server (expired or reset)
          restore(tr("ended"));
        } else {
          restore(refusedMessage(outcome));
        }
      }
      break;
    }
    input.focus();
  }

  async function resolveAction(id, confirm) {
    if (busy || !session) return;
    var card = cards[id];
    settleCard(id, "working", confirm ? tr("confirming") : tr("cancelling"));
    card.classList.add("sa-card-working");
    var path = "/api/sessions/" + session.id + "/actions/" + encodeURIComponent(id) + (confirm ? "/confirm" : "/decline");
    for (;;) {
      var outcome = await runTurn(path, {});
      if (outcome === "lost") {
        var t = await resyncBusy();
        if (t.pending_action && t.pending_action.id === id) { card = cards[id]; settleCard(id, "working", card._status.textContent); continue; }
        break;
      }
      if (outcome instanceof ApiError) {
        if (outcome.code === "action_not_pending" || outcome.code === "unknown_action") {
          settleCard(id, "stale", tr("already_answered"));
        } else {
          card._buttons.forEach(function (b) { b.disabled = false; });
          card.classList.remove("sa-card-working");
          card.removeAttribute("data-state");
          card._status.hidden = true;
          addNote(refusedMessage(outcome));
        }
      }
      break;
    }
    input.focus();
  }

  // ---- resume after a reload ------------------------------------------------------------------
  function renderTranscript(t) {
    log.textContent = "";
    cards = {};
    renderGreeting();
    var pending = t.pending_action;
    var lastAgent = -1;
    t.messages.forEach(function (m, i) { if (m.role === "assistant" && m.content) lastAgent = i; });
    t.messages.forEach(function (m, i) {
      if (m.role === "user" && (m.content === "(confirmed)" || m.content === "(declined)")) {
        addNote(m.content === "(confirmed)" ? tr("you_confirmed") : tr("you_declined"));
      } else if (m.role === "user") {
        addMessage("user", m.content);
      } else if (m.role === "assistant" && m.content) {
        var text = i === lastAgent && pending ? withoutQuestion(m.content, pending.summary) : m.content;
        if (text) addMessage("agent", text);
      }
    });
    if (pending) renderCard(pending);
    scrollDown(true);
  }

  async function resume() {
    log.textContent = "";
    renderGreeting();
    if (!session) return;
    try {
      var t = await withRetry(function () { return getJSON("/api/sessions/" + session.id + "/transcript"); }, tr("reconnecting"));
      renderTranscript(t);
      if (t.busy) { setBusy(true); await resync(); setBusy(false); }
    } catch (e) {
      if (e instanceof ApiError && (e.status === 401 || e.status === 403 || e.status === 404)) {
        forgetSession(); // unknown or expired: the next message starts a new conversation
      } else {
        addNote(tr("cant_load"));
      }
    }
  }

  // ---- composer ---------------------------------------------------------------------------------
  function autosize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 120) + "px";
    var left = MAX_CHARS - input.value.length;
    counter.hidden = left > MAX_CHARS * 0.1;
    counter.textContent = " · " + tr("chars_left", { count: left });
  }
  input.addEventListener("input", autosize);
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(input.value); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); send(input.value); });

  window.SupportAgentWidget = { open: open, close: close, server: SERVER };
})();
