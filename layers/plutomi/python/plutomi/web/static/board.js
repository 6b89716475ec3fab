// The pipeline board: drag a card to another column to move the applicant. The drop posts the same
// form as the card's "Move to" menu (applicant, the column it came from, the column it went to), and
// the server answers with the board refreshed: the new counts, or a 409 saying where they are now.
(function () {
  "use strict";

  var dragged = null;

  function columnOf(node) {
    return node && node.closest ? node.closest(".board-column") : null;
  }

  document.addEventListener("dragstart", function (event) {
    var card = event.target.closest && event.target.closest(".board-card[draggable='true']");
    if (!card) return;
    dragged = { applicant: card.getAttribute("data-applicant-id"), from: card.getAttribute("data-stage-id") };
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", dragged.applicant);
    card.classList.add("dragging");
  });

  document.addEventListener("dragend", function (event) {
    if (event.target.classList) event.target.classList.remove("dragging");
    document.querySelectorAll(".board-column.drop-target").forEach(function (column) {
      column.classList.remove("drop-target");
    });
  });

  document.addEventListener("dragover", function (event) {
    var column = columnOf(event.target);
    if (!dragged || !column || column.getAttribute("data-stage-id") === dragged.from) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "move";
    column.classList.add("drop-target");
  });

  document.addEventListener("dragleave", function (event) {
    var column = columnOf(event.target);
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var column = columnOf(event.target);
    var region = document.getElementById("board");
    if (!dragged || !column || !region) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    var move = dragged;
    dragged = null;
    var to = column.getAttribute("data-stage-id");
    if (to === move.from) return;
    htmx.ajax("POST", region.getAttribute("data-move-url"), {
      target: "#board",
      swap: "outerHTML",
      values: {
        applicant_id: move.applicant,
        from_stage_id: move.from,
        to_stage_id: to,
        status: region.getAttribute("data-status"),
        order: region.getAttribute("data-order")
      }
    });
  });
})();
