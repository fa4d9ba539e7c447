// A refused save explained: when someone saved the workflow since this editor opened it, the
// server's 409 answer names the versions; this asks for the panel that says who saved, when and
// what they changed (workflows/_save_conflict.html) and shows it in the conflict modal. Nothing
// is overwritten: the person copies their version, reloads theirs, or keeps editing.
import { $ } from "./util.js";

/** Show the conflict modal for a save started from version `since`; false if it could not be
 * fetched (the caller's plain message then stands alone). `copyText()` is the user's version,
 * `onReload()` loads the saved one. */
export async function showSaveConflict({ since, copyText, onReload }) {
  const shell = $("save-conflict-modal");
  if (!shell || !window.bootstrap) return false;
  let html;
  try {
    const response = await fetch(`${shell.dataset.url}?since=${encodeURIComponent(since)}`, {
      credentials: "same-origin",
      headers: { "HX-Request": "true" },
    });
    if (!response.ok) return false;
    html = await response.text();
  } catch {
    return false;
  }
  const content = $("save-conflict");
  content.innerHTML = html;
  const reload = content.querySelector("[data-conflict-action=reload]");
  if (reload) reload.addEventListener("click", onReload);
  const copy = content.querySelector("[data-conflict-action=copy]");
  copy.addEventListener("click", async () => {
    const label = copy.querySelector("[data-copy-label]");
    label.textContent = (await copyToClipboard(copyText())) ? "Copied" : "Press Ctrl+C to copy";
  });
  window.bootstrap.Modal.getOrCreateInstance(shell).show();
  return true;
}

async function copyToClipboard(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Plain http or a refused permission: the old way, through a selected text area.
    const area = document.createElement("textarea");
    area.value = text;
    $("save-conflict").append(area);
    area.select();
    const done = document.execCommand("copy");
    area.remove();
    return done;
  }
}
