// Settings pages: the answer to creating a webhook (the only page with its secret) puts the webhook's
// own address in the location bar, so a reload asks for that page instead of sending the form again.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var marked = document.querySelector("[data-replace-url]");
    if (marked && window.history.replaceState) {
      window.history.replaceState(null, "", marked.getAttribute("data-replace-url"));
    }
  });
})();
