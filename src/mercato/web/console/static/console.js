/* Merchant console: progressive enhancement only; every page works without this file.
   - form[data-confirm="TEXT"]: asks before submitting (cancelling an order cannot be undone). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement)) { return; }
    var text = form.getAttribute("data-confirm");
    if (text && !window.confirm(text)) { event.preventDefault(); event.stopImmediatePropagation(); }
  }, true);
}());
