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

/** Wire the page-wide htmx behaviour of the Studio: server toasts, fragments answered with
 * 422 (a message next to the field) swapped like any other, whole error pages kept out of
 * the panels, and failed requests announced. */
export function wireHtmx() {
  document.body.addEventListener("ferry:toast", (event) => toast(event.detail.message, event.detail.kind));
  document.body.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr } = event.detail;
    if (xhr.status >= 400 && isWholePage(xhr)) {
      // An error page (the NUL-character guard, an expired form, a refusal raised past the
      // view) would replace a form or panel with a page of its own: say its message instead.
      event.detail.shouldSwap = false;
      event.detail.isError = false;
      refused(event, pageMessage(xhr));
    } else if (xhr.status === 422) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.body.addEventListener("htmx:responseError", (event) => {
    const status = event.detail.xhr.status;
    const what = { 403: "your role does not allow this", 404: "it no longer exists" }[status] || `Ferry answered ${status}`;
    refused(event, pageMessage(event.detail.xhr) || `That did not work: ${what}. Reload the page if it keeps happening.`);
  });
  document.body.addEventListener("htmx:sendError", () => toast("Ferry could not be reached. Check your connection and try again.", "danger"));
}

function isWholePage(xhr) {
  return /^\s*<!doctype html/i.test(xhr.responseText || "");
}

/** The message of one of Ferry's error pages (templates/errors/error.html), if it is one. */
function pageMessage(xhr) {
  if (!isWholePage(xhr)) return "";
  const page = new DOMParser().parseFromString(xhr.responseText, "text/html");
  const lead = page.querySelector("main .lead");
  return lead ? lead.textContent.trim() : "";
}

/** Show why a request was refused next to the field of the form that sent it (its first
 * field), or in a toast when no form sent it. */
function refused(event, message) {
  const text = message || `Ferry answered ${event.detail.xhr.status}.`;
  const source = event.detail.requestConfig && event.detail.requestConfig.elt;
  const form = source && source.closest ? source.closest("form") : null;
  const field = form && form.querySelector("textarea, select, input:not([type=hidden])");
  if (!field) {
    toast(text, "danger");
    return;
  }
  let slot = form.querySelector("[data-refused]");
  if (!slot) {
    slot = document.createElement("div");
    slot.className = "invalid-feedback d-block";
    slot.setAttribute("role", "alert");
    slot.dataset.refused = "";
    field.after(slot);
  }
  slot.textContent = text;
  field.classList.add("is-invalid");
  field.setAttribute("aria-invalid", "true");
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
