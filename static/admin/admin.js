/* idaas admin console: progressive enhancements; every page works without them. */
(function () {
  "use strict";
  var csrfMeta = document.querySelector('meta[name="csrf-token"]');
  var csrf = csrfMeta ? csrfMeta.getAttribute("content") : "";

  /* Confirm dialogs: a link to a confirm page opens a <dialog> that posts the same URL. */
  function confirmDialog(link) {
    if (typeof HTMLDialogElement !== "function") { return false; }
    var dialog = document.createElement("dialog");
    dialog.className = "confirm-dialog";
    dialog.setAttribute("aria-labelledby", "confirm-dialog-text");
    var form = document.createElement("form");
    form.method = "post";
    form.action = link.getAttribute("href");
    var text = document.createElement("p");
    text.id = "confirm-dialog-text";
    text.textContent = link.getAttribute("data-confirm-dialog");
    var token = document.createElement("input");
    token.type = "hidden"; token.name = "csrf_token"; token.value = csrf;
    var actions = document.createElement("div");
    actions.className = "form-actions";
    var ok = document.createElement("button");
    ok.type = "submit"; ok.name = "confirm"; ok.value = "yes"; ok.id = "dialog-confirm";
    ok.className = link.classList.contains("danger") ? "danger" : "";
    ok.textContent = link.getAttribute("data-confirm-label") || link.textContent;
    var cancel = document.createElement("button");
    cancel.type = "button"; cancel.className = "secondary"; cancel.id = "dialog-cancel";
    var cancelMeta = document.querySelector('meta[name="admin-cancel-label"]');
    cancel.textContent = cancelMeta ? cancelMeta.getAttribute("content") : "Cancel";
    cancel.addEventListener("click", function () { dialog.close(); });
    actions.appendChild(ok); actions.appendChild(cancel);
    form.appendChild(text); form.appendChild(token); form.appendChild(actions);
    dialog.appendChild(form);
    dialog.addEventListener("close", function () { dialog.remove(); link.focus(); });
    document.body.appendChild(dialog);
    dialog.showModal();
    cancel.focus();
    return true;
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[data-confirm-dialog]");
    if (link && !event.ctrlKey && !event.metaKey && !event.shiftKey && confirmDialog(link)) {
      event.preventDefault();
    }
  });

  /* Department tree: fetch a level when a node is opened for the first time. */
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest && event.target.closest(".tree-toggle");
    if (!toggle) { return; }
    var box = document.getElementById(toggle.getAttribute("aria-controls"));
    var open = toggle.getAttribute("aria-expanded") === "true";
    toggle.setAttribute("aria-expanded", open ? "false" : "true");
    if (open) { box.hidden = true; return; }
    box.hidden = false;
    if (box.getAttribute("data-loaded")) { return; }
    box.setAttribute("data-loaded", "1");
    fetch(toggle.getAttribute("data-children-url"), { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) { box.innerHTML = html; })
      .catch(function () { box.removeAttribute("data-loaded"); box.textContent = "!"; });
  });

  /* Department tree: drag a department onto another to move it there (the "Move to…" page
     is the keyboard way). The drop posts the same form as that page. */
  var dragged = null;
  document.addEventListener("dragstart", function (event) {
    var label = event.target.closest && event.target.closest(".tree-label[data-move-url]");
    if (!label) { return; }
    dragged = label;
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", label.getAttribute("data-dept-id"));
  });
  document.addEventListener("dragover", function (event) {
    var target = event.target.closest && event.target.closest(".tree-label[data-dept-id]");
    if (dragged && target && target !== dragged) {
      event.preventDefault();
      target.classList.add("drop-target");
    }
  });
  document.addEventListener("dragleave", function (event) {
    var target = event.target.closest && event.target.closest(".tree-label");
    if (target) { target.classList.remove("drop-target"); }
  });
  document.addEventListener("drop", function (event) {
    var target = event.target.closest && event.target.closest(".tree-label[data-dept-id]");
    if (!dragged || !target || target === dragged) { return; }
    event.preventDefault();
    target.classList.remove("drop-target");
    var form = document.createElement("form");
    form.method = "post";
    form.action = dragged.getAttribute("data-move-url");
    [["csrf_token", csrf], ["confirm", "yes"], ["target", target.getAttribute("data-dept-id")]]
      .forEach(function (pair) {
        var input = document.createElement("input");
        input.type = "hidden"; input.name = pair[0]; input.value = pair[1];
        form.appendChild(input);
      });
    document.body.appendChild(form);
    form.submit();
  });

  /* Bulk selection: "select all" and a live count. */
  document.querySelectorAll("[data-select-all]").forEach(function (all) {
    var form = all.closest("form");
    var boxes = form.querySelectorAll('input[name="ids"]');
    var count = form.querySelector("[data-selected-count]");
    function update() {
      var n = form.querySelectorAll('input[name="ids"]:checked').length;
      if (count) { count.textContent = n ? String(n) + " ✓" : ""; }
    }
    all.addEventListener("change", function () {
      boxes.forEach(function (box) { box.checked = all.checked; });
      update();
    });
    boxes.forEach(function (box) { box.addEventListener("change", update); });
  });

  /* Copy a shown-once secret. */
  document.querySelectorAll("[data-copy-text]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    button.hidden = false;
    button.addEventListener("click", function () {
      var source = document.querySelector(button.getAttribute("data-copy-text"));
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = button.getAttribute("data-copied") || "Copied";
      });
    });
  });

  /* Job progress: poll the engine's job ({status, progress: {total, done, failed, step,
     message}} from /api/v1/jobs/<id>, or the same fields flat) until the job ends. The job's URL
     is in the page, so a reload simply picks up where the job is now; a page that rendered a live
     job reloads itself once when the job ends, to show what the job produced. */
  var LIVE = ["pending", "running", "queued"];
  document.querySelectorAll("[data-job-url]").forEach(function (box) {
    var url = box.getAttribute("data-job-url");
    var bar = box.querySelector("progress");
    var status = box.querySelector(".job-status");
    var reload = box.hasAttribute("data-reload-when-done") &&
      LIVE.indexOf(status.getAttribute("data-status")) >= 0;
    function label(value) {
      return box.getAttribute("data-label-" + value) || value;
    }
    function show(job) {
      var p = job.progress || job;
      /* No total yet (a job still counting): an indeterminate bar while it runs, full after. */
      bar.max = Math.max(p.total || 0, 1);
      if (p.total) { bar.value = p.done || 0; }
      else if (LIVE.indexOf(job.status) >= 0) { bar.removeAttribute("value"); }
      else { bar.value = bar.max; }
      status.textContent = label(job.status);
      status.setAttribute("data-status", job.status);
      box.querySelector(".job-count").textContent = (p.done || 0) + " / " + (p.total || 0);
      box.querySelector(".job-failed").textContent = p.failed || 0;
      box.querySelector(".job-step").textContent = p.step || "";
      box.querySelector(".job-message").textContent = job.error || p.message || "";
    }
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.ok ? response.json() : Promise.reject(response.status); })
        .then(function (job) {
          show(job);
          if (LIVE.indexOf(job.status) >= 0) { window.setTimeout(poll, 700); }
          else if (reload) { window.location.reload(); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    poll();
  });
})();
