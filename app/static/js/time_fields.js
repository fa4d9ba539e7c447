// Time fields: the time zone picker (macros/time_zone.html) offers the browser's own zone
// first, and 24-hour clock fields ([data-clock-24]) accept "930", "9:30" or "09.30" and
// become "09:30"; a time that is not one is refused before anyone else sees the change.

function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return "";
  }
}

function enhancePicker(input) {
  if (input.dataset.zoneReady) return;
  input.dataset.zoneReady = "1";
  const zone = browserZone();
  const list = document.getElementById(input.getAttribute("list"));
  const known = list && [...list.options].find((option) => option.value === zone);
  if (!known) return; // a zone the server does not know is no help
  known.label = "This computer's zone";
  list.prepend(known);
  const button = document.querySelector(`[data-use-browser-zone="${input.id}"]`);
  if (!button) return;
  button.querySelector("[data-zone-name]").textContent = zone;
  const sync = () => { button.hidden = input.value === zone; };
  button.addEventListener("click", () => {
    input.value = zone;
    input.dispatchEvent(new Event("input", { bubbles: true }));
    input.dispatchEvent(new Event("change", { bubbles: true }));
    input.focus();
  });
  input.addEventListener("input", sync);
  // Other scripts fill the field without an event (the builder, on choosing a trigger).
  input.addEventListener("focus", sync);
  sync();
}

/** "9" "930" "0930" "9:30" "09.30" -> "09:30"; null when it is not a time of day. */
export function clockValue(text) {
  const match = text.trim().match(/^(\d{1,2})(?:[:.h]?(\d{2}))?$/);
  if (!match) return null;
  let [, hour, minute] = match;
  if (minute === undefined && hour.length > 2) return null;
  if (minute === undefined) minute = "00";
  if (Number(hour) > 23 || Number(minute) > 59) return null;
  return `${hour.padStart(2, "0")}:${minute}`;
}

function checkClock(event) {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || !input.matches("[data-clock-24]")) return;
  const value = clockValue(input.value);
  const feedback = document.getElementById(`${input.id}-error`);
  input.classList.toggle("is-invalid", value === null);
  if (feedback) feedback.hidden = value !== null;
  if (value === null) {
    input.setCustomValidity("Write the time on a 24-hour clock, e.g. 14:30.");
    event.stopImmediatePropagation(); // the schedule keeps its last good time
    return;
  }
  input.setCustomValidity("");
  input.value = value;
}

function enhanceAll(root = document) {
  root.querySelectorAll("[data-time-zone-picker]").forEach(enhancePicker);
}

// Capture on the document runs before the field's own listeners (the builder's panels).
document.addEventListener("change", checkClock, true);
document.addEventListener("htmx:load", (event) => enhanceAll(event.target));
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", () => enhanceAll());
else enhanceAll();
