/* Refused htmx requests on every page. base.html's responseHandling swaps 400/409/422 answers
 * (a view's fragment with the message next to its field), but some refusals are whole error
 * pages (the NUL-character guard, an expired form, an error raised past the view): swapped
 * into a row or a form they would draw a page inside the page. This script keeps them out and
 * shows their message next to the first field of the form that sent the request, or at the
 * top of the page when no form sent it (in the Studio, as a toast). Failures htmx does not
 * swap (403, 404, 5xx, no connection) are announced the same way instead of doing nothing. */
(function () {
  "use strict";

  function isWholePage(xhr) {
    return /^\s*<!doctype html/i.test((xhr && xhr.responseText) || "");
  }

  /** The message of one of Ferry's error pages (templates/errors/error.html), if it is one. */
  function pageMessage(xhr) {
    if (!isWholePage(xhr)) return "";
    const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
    const lead = page.querySelector("main .lead");
    return lead ? lead.textContent.trim() : "";
  }

  function fallbackMessage(status) {
    const what = { 403: "your role does not allow this", 404: "it no longer exists" }[status];
    return `That did not work: ${what || `Ferry answered ${status}`}. Reload the page if it keeps happening.`;
  }

  /** At the top of the page, like a flash message (the Studio has toasts for this). */
  function announce(message) {
    if (document.getElementById("studio-toasts")) {
      document.body.dispatchEvent(new CustomEvent("ferry:toast", { detail: { message, kind: "danger" } }));
      return;
    }
    const main = document.getElementById("main");
    if (!main) return;
    let alert = main.querySelector(":scope > [data-refusal]");
    if (!alert) {
      alert = document.createElement("div");
      alert.className = "alert alert-danger alert-dismissible";
      alert.setAttribute("role", "alert");
      alert.dataset.refusal = "";
      const text = document.createElement("span");
      text.dataset.refusalText = "";
      const close = document.createElement("button");
      close.type = "button";
      close.className = "btn-close";
      close.setAttribute("aria-label", "Close");
      close.addEventListener("click", () => alert.remove());
      alert.append(text, close);
      main.prepend(alert);
    }
    alert.querySelector("[data-refusal-text]").textContent = message;
  }

  /** Next to the first field of the form that sent the request, or announced. */
  function refused(event, message) {
    const source = event.detail.requestConfig && event.detail.requestConfig.elt;
    const form = source && source.closest ? source.closest("form") : null;
    const field = form && form.querySelector("textarea, select, input:not([type=hidden])");
    if (!field) {
      announce(message);
      return;
    }
    if (field.type === "checkbox" && form.querySelectorAll("input:not([type=hidden])").length === 1) {
      field.checked = field.defaultChecked; // a lone switch: it shows what is still saved
    }
    let slot = form.querySelector("[data-refused]");
    if (!slot) {
      slot = document.createElement("div");
      slot.className = "invalid-feedback d-block";
      slot.setAttribute("role", "alert");
      slot.dataset.refused = "";
      (field.closest(".form-check") || field).after(slot); // below a checkbox and its label
    }
    slot.textContent = message;
    field.classList.add("is-invalid");
    field.setAttribute("aria-invalid", "true");
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.body.addEventListener("htmx:beforeSwap", (event) => {
      const { xhr } = event.detail;
      if (xhr.status >= 400 && isWholePage(xhr)) {
        event.detail.shouldSwap = false;
        event.detail.isError = false;
        refused(event, pageMessage(xhr) || fallbackMessage(xhr.status));
      }
    });
    document.body.addEventListener("htmx:responseError", (event) => {
      const { xhr } = event.detail;
      refused(event, pageMessage(xhr) || fallbackMessage(xhr.status));
    });
    document.body.addEventListener("htmx:sendError", () =>
      announce("Ferry could not be reached. Check your connection and try again."));
  });
})();
