// Copy buttons on pages without the studio's modules: a [data-copy-target] button copies
// its target's value (or text). Where the clipboard is refused (plain http), the text is
// selected and copied the old way, or left selected for Ctrl+C.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const target = document.querySelector(button.dataset.copyTarget);
    if (!target) return;
    const text = target.value !== undefined ? target.value : target.textContent;
    const label = button.querySelector("[data-copy-label]");
    function done(copied) {
      if (!label) return;
      label.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
      setTimeout(function () { label.textContent = "Copy"; }, copied ? 1500 : 4000);
    }
    function fallback() {
      if (target.select) { target.focus(); target.select(); }
      try { done(document.execCommand("copy")); } catch (e) { done(false); }
    }
    if (navigator.clipboard) {
      navigator.clipboard.writeText(text).then(function () { done(true); }, fallback);
    } else {
      fallback();
    }
  });
})();
