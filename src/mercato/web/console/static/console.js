/* Merchant console: progressive enhancement only; every page works without this file.
   - form[data-confirm="TEXT"]: asks before submitting (cancelling an order cannot be undone).
   - [data-watch="URL"][data-version="V"] (hidden): polls URL (JSON {"version"}) every 5 s and shows
     the element once the version differs (new or changed orders); it never reloads by itself,
     so nothing moves under the merchant's keyboard or finger. A failed poll is retried quietly. */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var text = form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);
  function watch(el) {
    var url = el.getAttribute("data-watch");
    var seen = el.getAttribute("data-version");
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (data && typeof data.version === "string" && data.version !== seen) {
            el.hidden = false;
            return;
          }
          window.setTimeout(tick, 5000);
        })
        .catch(function () { window.setTimeout(tick, 5000); });
    }
    window.setTimeout(tick, 5000);
  }
  function start() {
    document.querySelectorAll("[data-watch]").forEach(watch);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
}());
