/* Mercato web: progressive enhancement only. Every page works without this file.
   - form[data-once]: a submitted form disables its submit buttons (the server is idempotent anyway).
   - [data-poll="URL"]: fetch URL (JSON) every data-interval ms (default 2000); for each key of
     the answer's "fields" object, elements [data-field="key"] inside get its text (a <progress>
     gets "value/max" as its value and max); a field named
     "status" also sets data-state on the poller. Polling stops when the answer has "final": true.
     A failed fetch marks the poller data-offline and keeps trying (no console noise).
   - button[data-copy="TEXT"]: copies TEXT to the clipboard and says so in the button's status.
   - select[data-autosubmit]: submits its form on change. */
(function () {
  "use strict";

  function onceForms() {
    document.querySelectorAll("form[data-once]").forEach(function (form) {
      form.addEventListener("submit", function () {
        window.setTimeout(function () {
          form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) {
            b.disabled = true;
          });
        }, 0);
      });
    });
  }

  function applyFields(root, fields) {
    Object.keys(fields).forEach(function (key) {
      var value = fields[key];
      root.querySelectorAll('[data-field="' + key + '"]').forEach(function (el) {
        var text = value === null || value === undefined ? "" : String(value);
        if (el.tagName === "PROGRESS") {
          var parts = text.split("/");
          if (parts.length === 2) { el.max = Number(parts[1]); }
          el.value = Number(parts[0]);
        } else if (el.textContent !== text) { el.textContent = text; }
      });
      if (key === "status") { root.setAttribute("data-state", String(value)); }
    });
  }

  function poll(root) {
    var url = root.getAttribute("data-poll");
    var interval = parseInt(root.getAttribute("data-interval") || "2000", 10);
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { root.setAttribute("data-offline", "true"); window.setTimeout(tick, interval); return; }
          root.removeAttribute("data-offline");
          if (data.fields) { applyFields(root, data.fields); }
          if (!data.final) { window.setTimeout(tick, interval); } else { root.setAttribute("data-final", "true"); }
        })
        .catch(function () { root.setAttribute("data-offline", "true"); window.setTimeout(tick, interval * 2); });
    }
    window.setTimeout(tick, interval);
  }

  function copyButtons() {
    document.querySelectorAll("button[data-copy]").forEach(function (b) {
      b.hidden = false;
      b.addEventListener("click", function () {
        var text = b.getAttribute("data-copy");
        var out = document.getElementById(b.getAttribute("aria-describedby") || "");
        var done = function (msg) { if (out) { out.textContent = msg; } };
        if (navigator.clipboard && window.isSecureContext) {
          navigator.clipboard.writeText(text).then(function () { done("Copied."); }, function () { done(text); });
        } else { done(text); }
      });
    });
  }

  function autoSubmit() {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (s) {
      s.addEventListener("change", function () { if (s.form) { s.form.requestSubmit(); } });
    });
  }

  function start() {
    onceForms();
    document.querySelectorAll("[data-poll]").forEach(poll);
    copyButtons();
    autoSubmit();
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
