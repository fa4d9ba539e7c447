// Small helpers shared by the Studio modules: CSRF-aware requests, toasts, debounce.

/** The CSRF token htmx sends, read from <body hx-headers>. */
export function csrfToken() {
  try {
    return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
  } catch {
    return "";
  }
}

/** POST JSON; resolves to {ok, status, body} and never throws for HTTP errors. */
export async function postJSON(url, payload) {
  return send(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body: JSON.stringify(payload),
  });
}

/** POST form fields (FormData or object). */
export async function postForm(url, fields) {
  const body = fields instanceof FormData ? fields : new URLSearchParams(fields);
  return send(url, { method: "POST", headers: { "X-CSRFToken": csrfToken(), Accept: "application/json" }, body });
}

/** GET; JSON bodies are parsed, HTML is returned as text. */
export async function get(url) {
  return send(url, { headers: { Accept: "application/json, text/html" } });
}

async function send(url, options) {
  let response;
  try {
    response = await fetch(url, { credentials: "same-origin", ...options });
  } catch {
    return { ok: false, status: 0, body: { error: "Ferry could not be reached. Check your connection and try again." } };
  }
  const type = response.headers.get("Content-Type") || "";
  const body = type.includes("json") ? await response.json().catch(() => ({})) : await response.text();
  return { ok: response.ok, status: response.status, body };
}

/** A Bootstrap toast in the corner: kind is success, danger, warning or info. */
export function toast(message, kind = "info") {
  const box = document.getElementById("studio-toasts");
  const item = document.createElement("div");
  item.className = `toast align-items-center text-bg-${kind} border-0 show mb-2`;
  item.setAttribute("role", kind === "danger" ? "alert" : "status");
  const icon = { success: "check-circle", danger: "exclamation-octagon", warning: "exclamation-triangle", info: "info-circle" }[kind];
  item.innerHTML = `<div class="d-flex"><div class="toast-body"><i class="bi bi-${icon}" aria-hidden="true"></i> </div>
    <button type="button" class="btn-close btn-close-white me-2 m-auto" aria-label="Close"></button></div>`;
  item.querySelector(".toast-body").append(message);
  item.querySelector(".btn-close").addEventListener("click", () => item.remove());
  box.append(item);
  setTimeout(() => item.remove(), kind === "danger" ? 12000 : 5000);
}

export function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

/** A URL template with the all-zero id replaced. */
export function fill(template, marker, value) {
  return template.replace(marker, value);
}

/** Wire every [data-copy-target] button inside `root` to copy its target's text. */
export function wireCopyButtons(root = document) {
  root.querySelectorAll("[data-copy-target]").forEach((button) => {
    if (button.dataset.copyWired) return;
    button.dataset.copyWired = "1";
    button.addEventListener("click", async () => {
      const target = document.querySelector(button.dataset.copyTarget);
      const text = target ? (target.value ?? target.textContent) : "";
      try {
        await navigator.clipboard.writeText(text);
      } catch {
        // Clipboard access can be refused (plain http); selecting lets people copy by hand.
        if (target && target.select) target.select();
      }
      const before = button.innerHTML;
      button.innerHTML = '<i class="bi bi-check2" aria-hidden="true"></i> Copied';
      setTimeout(() => (button.innerHTML = before), 1500);
    });
  });
}
