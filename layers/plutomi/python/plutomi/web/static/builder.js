// The application builder: drag stages into order (the Up/Down buttons do the same without a
// mouse or without JavaScript), show only the question settings the chosen type takes, and offer
// only the operators the chosen question's type takes.
(function () {
  "use strict";

  function moveStage(item, position) {
    var body = new URLSearchParams({ position: String(position) });
    fetch(item.getAttribute("data-move-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      window.location.assign(response.url);
    }).catch(function (error) {
      window.plutomiToast("The stage could not be moved (" + error.message + "). Reload and try again.");
    });
  }

  function enableDragging(list) {
    var dragged = null;
    list.addEventListener("dragstart", function (event) {
      dragged = event.target.closest("[data-stage-id]");
      if (!dragged) return;
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.getAttribute("data-stage-id"));
    });
    list.addEventListener("dragover", function (event) {
      var over = event.target.closest("[data-stage-id]");
      if (!dragged || !over || over === dragged) return;
      event.preventDefault();
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });
    list.addEventListener("drop", function (event) { event.preventDefault(); });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      var item = dragged;
      dragged = null;
      item.classList.remove("dragging");
      var items = Array.prototype.slice.call(list.querySelectorAll("[data-stage-id]"));
      var position = items.indexOf(item);
      if (String(position) !== item.getAttribute("data-position")) moveStage(item, position);
    });
  }

  function showSettingsFor(form) {
    var type = form.querySelector("[name=type]");
    function update() {
      form.querySelectorAll("[data-for-types]").forEach(function (group) {
        var wanted = group.getAttribute("data-for-types").split(" ").indexOf(type.value) >= 0;
        group.hidden = !wanted;
        group.disabled = !wanted;
      });
    }
    type.addEventListener("change", update);
    update();
  }

  function narrowOperators(form) {
    var allowed = JSON.parse(form.getAttribute("data-operators") || "{}");
    var noValue = (form.getAttribute("data-no-value") || "").split(" ");
    form.querySelectorAll("[data-condition]").forEach(function (row) {
      var question = row.querySelector("select[name$='-question']");
      var operator = row.querySelector("select[name$='-operator']");
      var value = row.querySelector("input[name$='-value']");
      function update() {
        var takes = allowed[question.value];
        Array.prototype.forEach.call(operator.options, function (option) {
          option.hidden = option.disabled = Boolean(option.value && takes && takes.indexOf(option.value) < 0);
        });
        if (operator.selectedOptions[0] && operator.selectedOptions[0].disabled) operator.value = "";
        value.closest(".field").hidden = noValue.indexOf(operator.value) >= 0;
      }
      question.addEventListener("change", update);
      operator.addEventListener("change", update);
      update();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-stage-list]").forEach(enableDragging);
    document.querySelectorAll("[data-question-form]").forEach(showSettingsFor);
    document.querySelectorAll("[data-rule-form]").forEach(narrowOperators);
  });
})();
