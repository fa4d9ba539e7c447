// Small helpers shared by the Studio modules: `$`, JSON requests (saving and live checks send
// the whole document as JSON; every other round trip is htmx), toasts, debounce, copy buttons.

/** The element with this id. */
export const $ = (id) => document.getElementById(id);

/** The CSRF token htmx sends, read from <body hx-headers>. */
function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

/** POST JSON; resolves to {ok, status, body} and never throws for HTTP errors. */
export async function postJSON(url, payload) {
  let response;
  try {
    response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify(payload),
    });
  } catch {
    return { ok: false, status: 0, body: { error: "Ferry could not be reached. Check your connection and try again." } };
  }
  const body = await response.json().catch(() => ({}));
  return { ok: response.ok, status: response.status, body };
}

/** A Bootstrap toast in the corner: kind is success, danger, warning or info. The one way the
 * Studio announces an outcome; the server asks for one with HX-Trigger `ferry:toast`. */
export function toast(message, kind = "info") {
  const item = $("studio-toast-template").content.firstElementChild.cloneNode(true);
  item.classList.add(`text-bg-${kind}`);
  item.setAttribute("role", kind === "danger" ? "alert" : "status");
  item.querySelector(`[data-kind=${kind}]`).hidden = false;
  item.querySelector("[data-message]").textContent = message;
  item.querySelector(".btn-close").addEventListener("click", () => item.remove());
  $("studio-toasts").append(item);
  setTimeout(() => item.remove(), kind === "danger" ? 12000 : 5000);
}

/** Wire the Studio's toasts: the server asks for one with HX-Trigger `ferry:toast`, and
 * refused requests with nothing to show next to a field are announced there too
 * (js/htmx_refusals.js, loaded on every page, keeps error pages out of the panels). */
export function wireHtmx() {
  document.body.addEventListener("ferry:toast", (event) => toast(event.detail.message, event.detail.kind));
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** Make every [data-copy-target] button, now or swapped in later, copy its target's text
 * (an input's value or an element's text). Where the clipboard is refused (plain http, an
 * old browser) the text is selected and copied the old way, or left selected for Ctrl+C. */
export function enableCopyButtons() {
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("[data-copy-target]");
    if (!button) return;
    const target = document.querySelector(button.dataset.copyTarget);
    if (!target) return;
    const text = target.value ?? target.textContent;
    let copied = false;
    try {
      await navigator.clipboard.writeText(text);
      copied = true;
    } catch {
      copied = selectAndCopy(target);
    }
    const label = button.querySelector("[data-copy-label]");
    if (!label) return;
    label.textContent = copied ? "Copied" : "Press Ctrl+C to copy";
    setTimeout(() => { label.textContent = "Copy"; }, copied ? 1500 : 4000);
  });
}

function selectAndCopy(target) {
  if (target.select) {
    target.focus();
    target.select();
  } else {
    window.getSelection().selectAllChildren(target);
  }
  try {
    return document.execCommand("copy");
  } catch {
    return false;
  }
}
