// Who else has the workflow open: the toolbar's #studio-presence polls the server by htmx
// (workflows/_presence.html); this only says when the tab closes, so the others see this
// person gone at their next poll instead of when the entry expires.
const slot = document.getElementById("studio-presence");

function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

if (slot && navigator.sendBeacon) {
  window.addEventListener("pagehide", () => {
    const form = new FormData();
    form.append("tab", slot.dataset.tab);
    form.append("csrf_token", csrfToken());
    navigator.sendBeacon(slot.dataset.leaveUrl, form);
  });
}
