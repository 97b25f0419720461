// Stormwatch UI helpers. No inline scripts or handlers anywhere (the CSP forbids them).
(function () {
  "use strict";

  // Every htmx request carries the session's CSRF token (read from the meta tag).
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && document.body) {
    document.body.setAttribute(
      "hx-headers",
      JSON.stringify({ "X-CSRF-Token": meta.getAttribute("content") })
    );
  }

  // <form data-confirm="..."> asks before submitting.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form && form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });

  // <button data-print> prints the page.
  document.addEventListener("click", function (event) {
    var target = event.target && event.target.closest && event.target.closest("[data-print]");
    if (target) {
      event.preventDefault();
      window.print();
    }
  });

  // Bring the triggering passage into view on a post page.
  var mark = document.getElementById("passage");
  if (mark && mark.scrollIntoView && !window.location.hash) {
    mark.scrollIntoView({ block: "center" });
  }
})();
