// What markup used to do with inline handlers and style attributes, which the content policy
// (script-src 'self'; style-src 'self') refuses. Loaded on every page by base.html; it works on
// content htmx swaps in later too.
//   <form data-confirm="Delete it?">       asks before submitting; Cancel keeps the page
//   <input data-submit-on-change>          submits its form when changed (htmx or plain)
//   <div data-ferry-width="42.5">          width: 42.5% (a bar's length), through CSSOM
//   <div data-ferry-offset="10">           margin-left: 10% (where a timeline bar starts)
(function () {
  "use strict";

  // Capture phase: the question comes before htmx or any other submit handler sees the form.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.dataset && form.dataset.confirm;
    if (question && !window.confirm(question)) {
      event.preventDefault();
      event.stopPropagation();
    }
  }, true);

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (input.hasAttribute && input.hasAttribute("data-submit-on-change") && input.form) {
      input.form.requestSubmit();
    }
  });

  function size(root) {
    root.querySelectorAll("[data-ferry-width]").forEach(function (el) {
      el.style.width = el.dataset.ferryWidth + "%";
    });
    root.querySelectorAll("[data-ferry-offset]").forEach(function (el) {
      el.style.marginLeft = el.dataset.ferryOffset + "%";
    });
  }
  size(document);
  document.addEventListener("htmx:load", function (event) {
    const root = event.detail && event.detail.elt;
    if (root && root.querySelectorAll) size(root.parentNode || root);
  });
})();
