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

  // A failed htmx request says so above the page (a 4xx is swapped in as the server's
  // own sentence; these are the rest): the list below is then what it was before.
  var status = document.getElementById("net-status");
  // The sentences come in the page's language from the page (data-said-*), English else.
  function said(name, english) {
    return (status && status.getAttribute("data-said-" + name)) || english;
  }
  function tell(text) {
    if (status) {
      status.textContent = text;
      status.hidden = !text;
    }
  }
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail && event.detail.xhr;
    var code = xhr ? xhr.status + (xhr.statusText ? " " + xhr.statusText : "") : "an error";
    tell(said("error", "The server answered {code}: the list below was not updated. Try again in a moment.").replace("{code}", code));
  });
  document.addEventListener("htmx:sendError", function () {
    tell(said("offline", "No connection to Stormwatch: the list below may be out of date. It updates when you change a filter again."));
  });
  document.addEventListener("htmx:timeout", function () {
    tell(said("timeout", "Stormwatch did not answer in time: the list below may be out of date. Try again."));
  });
  document.addEventListener("htmx:beforeRequest", function () {
    tell("");
  });

  // The queue's filters fold behind one button on phones; wider screens show them all.
  var fold = document.querySelector("details.more-filters");
  if (fold && window.matchMedia && window.matchMedia("(min-width: 48rem)").matches) {
    fold.open = true;
  }

  // The zone this browser reports, as a cookie: pages show times in it when neither the
  // user's setting nor an on-call schedule names a zone (the server checks the name).
  var deviceZone = "";
  try {
    deviceZone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (ignored) {
    deviceZone = "";
  }
  if (/^[A-Za-z0-9_+\-\/]{1,64}$/.test(deviceZone)) {
    document.cookie = "stormwatch_tz=" + deviceZone + "; path=/; max-age=31536000; samesite=lax" +
      (window.location.protocol === "https:" ? "; secure" : "");
    var useDevice = document.querySelector("[data-device-zone]");
    var zoneField = document.getElementById("timezone");
    if (useDevice && zoneField) {
      var label = useDevice.getAttribute("data-label") || "Use this device's zone ({zone})";
      useDevice.textContent = label.replace("{zone}", deviceZone);
      useDevice.hidden = false;
      useDevice.addEventListener("click", function () {
        zoneField.value = deviceZone;
        zoneField.focus();
      });
    }
  }

  // The queue's bulk bar: "all on this page" ticks every post; the bar says how many.
  function countSelected(form) {
    var shown = form.querySelector("[data-selected]");
    if (shown) {
      var n = form.querySelectorAll("input[name=post]:checked").length;
      shown.textContent = n + " " + (shown.getAttribute("data-selected-word") || "selected");
    }
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    var form = box && box.form;
    if (!form || form.id !== "bulk") {
      return;
    }
    if (box.hasAttribute("data-select-all")) {
      form.querySelectorAll("input[name=post]").forEach(function (each) {
        each.checked = box.checked;
      });
    }
    countSelected(form);
  });

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
