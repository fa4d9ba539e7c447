// The save message over the canvas (templates/workflows/_save_message.html): what saving
// answered, with each webhook trigger's URL and a copy button once saved, so nobody has to
// find the trigger on the canvas to learn where to send data.
import { $ } from "./util.js";

/** Show the outcome of a save: `saved` true with the reply's triggers, or false with why. */
export function showSaveMessage({ saved, message, triggers = {} }) {
  const box = $("studio-save-message");
  const item = $("studio-saved-template").content.firstElementChild.cloneNode(true);
  item.classList.add(saved ? "alert-success" : "alert-danger");
  item.setAttribute("role", saved ? "status" : "alert");
  item.querySelectorAll("[data-when]").forEach((icon) => { icon.hidden = icon.dataset.when !== (saved ? "saved" : "refused"); });
  item.querySelector("[data-message]").textContent = message;
  const hooks = Object.entries(triggers).filter(([, t]) => t.type === "webhook" && t.url);
  for (const [key, trigger] of hooks) {
    const row = $("studio-hook-template").content.firstElementChild.cloneNode(true);
    const id = `save-hook-${key.replace(/[^A-Za-z0-9_-]/g, "_")}`;
    const label = row.querySelector("[data-hook-label]");
    label.htmlFor = id;
    label.textContent = hooks.length > 1 ? `Webhook URL (${key})` : "Webhook URL";
    const input = row.querySelector("[data-hook-url]");
    input.id = id;
    input.value = trigger.url;
    const copy = row.querySelector("[data-copy-target]");
    copy.dataset.copyTarget = `#${id}`;
    copy.setAttribute("aria-label", `Copy the webhook URL${hooks.length > 1 ? ` of ${key}` : ""}`);
    item.querySelector("[data-hooks]").append(row);
  }
  item.querySelector(".btn-close").addEventListener("click", () => item.remove());
  box.replaceChildren(item);
}

/** Take away a save's success message (the canvas changed since: it would mislead). */
export function clearSavedMessage() {
  const shown = $("studio-save-message").querySelector(".alert-success");
  if (shown) shown.remove();
}
