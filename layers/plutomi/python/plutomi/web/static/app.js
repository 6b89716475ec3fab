// Plutomi's small shared script: focus on what the server flagged, confirmations, and a toast for
// htmx requests that failed. No inline script anywhere: pages opt in with data- attributes.
(function () {
  "use strict";

  function toast(message) {
    var box = document.getElementById("toast");
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
    clearTimeout(box._timer);
    box._timer = setTimeout(function () { box.hidden = true; }, 6000);
  }
  window.plutomiToast = toast;

  function focusFlagged(root) {
    var flagged = (root || document).querySelector("[data-autofocus]");
    if (flagged) flagged.focus();
  }

  document.addEventListener("DOMContentLoaded", function () { focusFlagged(document); });

  // <form data-confirm="Erase Sam?"> and <button data-confirm=...> ask before they submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) { focusFlagged(event.detail.target); });
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    toast(status === 429 ? "Too many requests: wait a moment and try again."
      : "That didn't work (" + status + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("We couldn't reach Plutomi. Check your connection and try again.");
  });
})();
