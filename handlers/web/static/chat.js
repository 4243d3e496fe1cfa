// The web chat's enhancement: posts turns with fetch, renders new messages, polls for others.
// Without this script the page still works through plain form posts. Text is only ever set with
// textContent, never parsed as HTML. No WebSocket (WeChat's browser): POST for turns, short polling.
(function () {
  "use strict";

  var POLL_MS = 3000;
  var log = document.getElementById("log");
  var menu = document.getElementById("menu");
  var sendForm = document.getElementById("send");
  var input = document.getElementById("text");
  var status = document.getElementById("status");
  var texts = document.getElementById("texts").dataset;
  var csrf = document.querySelector('meta[name="csrf-token"]').content;
  var inWechat = document.body.dataset.wechat === "1";
  var lastId = Number(log.dataset.lastId || 0);
  var renderedUpTo = lastId; // the server already folded these into the page
  var seen = {};
  var queue = Promise.resolve(); // one turn after another, in the order the user acted
  var pending = 0;
  var pollTimer = null;
  var polling = false;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function hidden(name, value) {
    var node = el("input");
    node.type = "hidden";
    node.name = name;
    node.value = String(value);
    return node;
  }

  function button(b, fieldName) {
    var node = el("button", "", b.label);
    node.type = "submit";
    node.name = b.data === null || b.data === undefined ? "text" : fieldName;
    node.value = b.data === null || b.data === undefined ? b.label : b.data;
    return node;
  }

  function fillMessage(li, msg) {
    li.className = "msg " + (msg.from === "user" ? "user" : "bot") + (msg.alert ? " alert" : "");
    li.textContent = "";
    li.appendChild(el("span", "visually-hidden", msg.from === "user" ? texts.me : texts.bot));
    var bubble = el("div", "bubble");
    bubble.appendChild(el("p", "text", msg.text));
    if (msg.file) {
      var p = el("p", "file");
      var a = el("a", "", texts.download + msg.file.name);
      a.href = msg.file.url;
      a.setAttribute("download", "");
      p.appendChild(a);
      bubble.appendChild(p);
      if (inWechat) bubble.appendChild(document.getElementById("wechat-note").content.cloneNode(true));
    }
    li.appendChild(bubble);
    if (msg.buttons && msg.buttons.length && !msg.keyboard) {
      var form = el("form", "buttons");
      form.method = "post";
      form.action = "/chat";
      form.appendChild(hidden("csrf", csrf));
      form.appendChild(hidden("message_id", li.dataset.id));
      msg.buttons.forEach(function (row) {
        var div = el("div", "row");
        row.forEach(function (b) { div.appendChild(button(b, "button")); });
        form.appendChild(div);
      });
      li.appendChild(form);
    }
  }

  function setMenu(rows) {
    Array.prototype.slice.call(menu.querySelectorAll("button")).forEach(function (b) { b.remove(); });
    rows.forEach(function (row) {
      row.forEach(function (b) { menu.appendChild(button({ label: b.label, data: null }, "text")); });
    });
    menu.hidden = rows.length === 0;
  }

  function apply(messages) {
    var added = false;
    messages.forEach(function (msg) {
      if (msg.id <= renderedUpTo || seen[msg.id]) return; // a poll and a post may both bring it
      seen[msg.id] = true;
      lastId = Math.max(lastId, msg.id);
      if (msg.keyboard) setMenu(msg.buttons);
      var target = msg.replaces ? document.getElementById("m" + msg.replaces) : null;
      if (target) {
        fillMessage(target, msg); // a multi-select toggle: the same message, updated in place
        return;
      }
      var li = el("li");
      li.id = "m" + msg.id;
      li.dataset.id = String(msg.id);
      fillMessage(li, msg);
      log.appendChild(li);
      added = true;
    });
    if (added) window.scrollTo(0, document.body.scrollHeight);
  }

  function busy(delta) {
    pending += delta;
    log.setAttribute("aria-busy", pending > 0 ? "true" : "false");
    document.body.classList.toggle("waiting", pending > 0);
  }

  function say(text) {
    status.textContent = text || "";
  }

  function post(body) {
    busy(1);
    say("");
    var turn = queue.then(function () {
      return fetch("/api/messages", {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
        body: JSON.stringify(body)
      }).then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (!response.ok) throw new Error(data.error || texts.failed);
          apply(data.messages || []);
        });
      });
    }).catch(function (error) {
      say(error && error.message ? error.message : texts.failed);
    }).then(function () {
      busy(-1);
    });
    queue = turn;
    return turn;
  }

  function bodyFor(form, submitter) {
    if (submitter && submitter.name === "button") {
      return { button: submitter.value, message_id: Number(form.elements.message_id.value) };
    }
    if (submitter && submitter.name === "text") return { text: submitter.value };
    return { text: input.value };
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.getAttribute("action") !== "/chat") return;
    var body = bodyFor(form, event.submitter);
    if (typeof body.text === "string" && !body.text.trim() && form === sendForm) {
      event.preventDefault();
      input.focus();
      return;
    }
    event.preventDefault();
    if (form === sendForm) {
      input.value = "";
      resize();
    }
    post(body);
  });

  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing && event.keyCode !== 229) {
      event.preventDefault();
      if (sendForm.requestSubmit) sendForm.requestSubmit();
      else sendForm.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    }
  });

  function resize() {
    input.style.height = "auto";
    input.style.height = Math.min(input.scrollHeight, 160) + "px";
  }
  input.addEventListener("input", resize);

  // Short polling while the page is visible; a backgrounded page stops, and catches up on return.
  function poll() {
    if (polling || document.visibilityState === "hidden") return;
    polling = true;
    fetch("/api/messages?after=" + lastId, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        polling = false;
        if (!data) return schedule();
        if (data.csrf) csrf = data.csrf;
        apply(data.messages || []);
        if (data.more) poll();
        else schedule();
      })
      .catch(function () {
        polling = false;
        schedule();
      });
  }

  function schedule() {
    clearTimeout(pollTimer);
    if (document.visibilityState !== "hidden") pollTimer = setTimeout(poll, POLL_MS);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") clearTimeout(pollTimer);
    else poll();
  });
  window.addEventListener("pageshow", function () { poll(); });

  document.body.classList.add("js");
  window.scrollTo(0, document.body.scrollHeight);
  schedule();
})();
