// The history and run pages' small island: live-view status, expanding rows, selecting
// rows for bulk actions, and copying a link. Everything else is htmx.
(function () {
  "use strict";

  // While the live stream is down, every [data-ferry-poll] element that is shown gets a
  // `ferry:poll` event (its hx-trigger) every 5 s. Done here, not with htmx's trigger
  // filters (`every 5s [...]`), which htmx evaluates as code: the content policy refuses eval.
  let live = false;
  setInterval(function () {
    if (live) return;
    document.querySelectorAll("[data-ferry-poll]").forEach(function (element) {
      if (!element.hidden) htmx.trigger(element, "ferry:poll");
    });
  }, 5000);
  // A hidden [data-ferry-when-shown] element (a collapsed row's details) fetches nothing,
  // whatever its trigger (a live-stream event for its work order, say).
  document.addEventListener("htmx:confirm", function (event) {
    const element = event.target;
    if (element.hidden && element.hasAttribute("data-ferry-when-shown")) event.preventDefault();
  });
  // The count re-reads itself once newer work orders were added above the list.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target.id === "history-new") htmx.trigger(document.body, "ferry:newer-shown");
  });

  function showStatus(state, text) {
    const pill = document.getElementById("history-live-status");
    if (!pill) return;
    pill.dataset.live = state;
    pill.querySelector(".ferry-live-text").textContent = text;
  }
  document.addEventListener("htmx:sseOpen", function () {
    live = true;
    showStatus("live", "Live");
  });
  function streamDown() {
    live = false;
    showStatus("polling", "Updating every 5 s");
  }
  document.addEventListener("htmx:sseError", streamDown);
  document.addEventListener("htmx:sseClose", streamDown);

  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("[data-ferry-expand]");
    if (toggle) {
      const detail = document.getElementById(toggle.getAttribute("aria-controls"));
      const open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", String(open));
      detail.hidden = !open;
      if (open) htmx.trigger(detail, "ferry:open");
      return;
    }
    const copy = event.target.closest("[data-ferry-copy]");
    if (copy && navigator.clipboard) {
      navigator.clipboard.writeText(copy.dataset.ferryCopy).then(function () {
        const label = copy.querySelector("[data-ferry-copy-label]");
        if (label) label.textContent = "Link copied";
      });
    }
  });

  // Keep filter URLs short and shareable: leave out fields left empty.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt.id !== "history-filters") return;
    const data = event.detail.formData;
    Array.from(data.keys()).forEach(function (key) {
      if (data.getAll(key).every(function (value) { return value === ""; })) data.delete(key);
    });
  });

  function countSelected() {
    const counter = document.getElementById("bulk-count");
    if (!counter) return;
    const all = document.getElementById("bulk-all");
    const ticked = document.querySelectorAll("input[name=work_order_ids]:checked").length;
    counter.textContent = all && all.checked ? "All matching selected"
      : ticked ? ticked + " selected" : "None selected";
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-ferry-select-page]")) {
      document.querySelectorAll("input[name=work_order_ids]").forEach(function (box) {
        box.checked = event.target.checked;
      });
    }
    countSelected();
  });
  document.addEventListener("htmx:afterSettle", countSelected);
})();
