// File questions on the portal: a chosen file is checked here first (type, size), then the page asks
// our API for an upload form (POST /public/applicants/{token}/uploads), posts the file straight to
// storage with a progress bar, and puts the document id into the answer's hidden input. Saving the
// answers makes the server check the stored file; until then it counts for nothing.
(function () {
  "use strict";

  function megabytes(size) {
    var shown = size / (1024 * 1024);
    return (shown >= 10 || shown === Math.round(shown) ? shown.toFixed(0) : shown.toFixed(1)) + " MB";
  }

  function errorBox(field, input) {
    var id = input.id + "-error";
    var box = document.getElementById(id);
    if (!box) {
      box = document.createElement("p");
      box.className = "field-error";
      box.id = id;
      field.insertBefore(box, field.querySelector(".uploads"));
    }
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
    if (described.indexOf(id) < 0) described.push(id);
    input.setAttribute("aria-describedby", described.join(" "));
    return box;
  }

  function showError(field, input, message) {
    errorBox(field, input).textContent = message;
    field.classList.add("has-error");
    input.setAttribute("aria-invalid", "true");
  }

  function clearError(field, input) {
    var box = document.getElementById(input.id + "-error");
    if (box) box.remove();
    var described = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
      return id && id !== input.id + "-error";
    });
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
    field.classList.remove("has-error");
    input.removeAttribute("aria-invalid");
  }

  // Why this file cannot be sent, checked before anything is uploaded (the server checks again).
  function problemWith(field, file) {
    var accepts = field.getAttribute("data-accepts").split(",");
    var types = field.getAttribute("data-types-label");
    if (accepts.indexOf(file.type) < 0) {
      return file.name + " is not a file this question takes: choose a " + types + " file.";
    }
    if (file.size > Number(field.getAttribute("data-max-bytes"))) {
      return file.name + " is " + megabytes(file.size) + "; the limit is " +
        field.getAttribute("data-max-label") + ". Choose a smaller file.";
    }
    if (file.size === 0) return file.name + " is empty: choose the file itself.";
    return null;
  }

  // The API's refusal as a sentence: its per-field messages ("takes files up to 10 MB; ...").
  function refusal(status, body) {
    var error = (body && body.error) || {};
    var details = (error.details || []).map(function (detail) { return detail.message; });
    var message = details.length ? details.join("; ") : error.message;
    if (!message) return "The upload could not start (" + status + "). Try again.";
    return /^(takes|is|must) /.test(message) ? "This question " + message + "." : message;
  }

  function setStatus(field, text) {
    field.querySelector(".upload-status").textContent = text;
  }

  function setBusy(form, busy) {
    var count = Number(form.getAttribute("data-uploading") || "0") + (busy ? 1 : -1);
    form.setAttribute("data-uploading", String(count));
    form.querySelectorAll("button[type=submit]").forEach(function (button) { button.disabled = count > 0; });
  }

  function uploaded(field, input, documentId, name) {
    var list = field.querySelector(".uploads");
    if (!field.hasAttribute("data-multiple")) list.textContent = "";
    var item = document.createElement("li");
    var hidden = document.createElement("input");
    hidden.type = "hidden";
    hidden.name = field.getAttribute("data-question-id");
    hidden.value = documentId;
    item.appendChild(hidden);
    item.appendChild(document.createTextNode(name + " (uploaded: save your answers to send it)"));
    list.appendChild(item);
    setStatus(field, "Uploaded " + name + ". Save your answers to send it.");
  }

  function sendToStorage(field, input, file, ticket) {
    var wrap = field.querySelector(".upload-progress");
    var bar = wrap.querySelector("progress");
    var form = input.form;
    var body = new FormData();
    Object.keys(ticket.upload.fields).forEach(function (name) { body.append(name, ticket.upload.fields[name]); });
    body.append("file", file);  // last: storage reads the fields before the file
    var request = new XMLHttpRequest();
    var announced = 0;
    bar.value = 0;
    wrap.hidden = false;
    setBusy(form, true);
    setStatus(field, "Uploading " + file.name + ": 0%");
    request.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((event.loaded / event.total) * 100);
      bar.value = percent;
      if (percent - announced >= 25 || percent === 100) {  // not every event: screen readers read each
        announced = percent;
        setStatus(field, "Uploading " + file.name + ": " + percent + "%");
      }
    });
    request.addEventListener("loadend", function () {
      setBusy(form, false);
      wrap.hidden = true;
      if (request.status >= 200 && request.status < 300) {
        bar.value = 100;
        uploaded(field, input, ticket.document_id, file.name);
      } else {
        setStatus(field, "");
        showError(field, input, "The upload of " + file.name + " did not finish" +
          (request.status ? " (" + request.status + ")" : "") + ". Try again.");
      }
      input.value = "";
    });
    request.open("POST", ticket.upload.url);
    request.send(body);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-upload] .needs-script").forEach(function (note) { note.remove(); });
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
    var field = input.closest("[data-upload]");
    var file = input.files && input.files[0];
    if (!field || !file) return;
    clearError(field, input);
    setStatus(field, "");
    var problem = problemWith(field, file);
    if (problem) {
      showError(field, input, problem);
      input.value = "";
      return;
    }
    setStatus(field, "Preparing the upload of " + file.name + "…");
    fetch(field.getAttribute("data-upload-url"), {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({
        question_id: field.getAttribute("data-question-id"),
        file_name: file.name,
        content_type: file.type,
        size_bytes: file.size,
      }),
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (body) {
        if (!response.ok) {
          setStatus(field, "");
          showError(field, input, refusal(response.status, body));
          input.value = "";
          return;
        }
        sendToStorage(field, input, file, body);
      });
    }, function () {
      setStatus(field, "");
      showError(field, input, "We couldn't reach Plutomi. Check your connection and try again.");
    });
  });
})();
