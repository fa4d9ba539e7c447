// The Studio: wires the canvas, panels, request builder and run panel around one model, and
// owns saving (with the optimistic lock), live validation, unsaved-changes and shortcuts.
import { showSaveConflict } from "./conflict.js";
import { Graph } from "./graph.js";
import { Keyboard } from "./keyboard.js";
import { Model } from "./model.js";
import { Panels } from "./panels.js";
import "./presence.js";
import { RequestBuilder } from "./request_builder.js";
import { RunPanel } from "./run_panel.js";
import { clearSavedMessage, showSaveMessage } from "./save_message.js";
import { Validation } from "./validation.js";
import { $, debounce, enableCopyButtons, postJSON, toast, wireHtmx } from "./util.js";

function start() {
  wireHtmx();
  enableCopyButtons();
  const data = JSON.parse($("studio-data").textContent);
  const model = new Model(data.document, data.positions);
  const state = { dirty: false, lockVersion: data.lock_version, saving: null, problems: [] };
  let panels;
  let runs;

  const graph = new Graph($("studio-canvas"), model, {
    editable: data.can_edit,
    onSelect: (id) => {
      panels.show(id);
      runs.select(id);
      const remove = document.querySelector("[data-action=delete]");
      if (remove) remove.disabled = !id;
      panels.showProblems(validation.visible(state.problems));
    },
  });
  panels = new Panels(model, data);
  // Problems of what the user has not touched yet wait (studio/validation.js).
  const validation = new Validation(model, panels, document.querySelector(".studio-panels"), () => showProblems(state.problems));
  const builder = new RequestBuilder(model, panels);
  runs = new RunPanel(data, model, graph, { save, isDirty: () => state.dirty });
  const FIRST_FIELD = { job: "step-name", trigger: "trigger-enabled", edge: "edge-condition" };
  const keyboard = new Keyboard({
    graph,
    model,
    editable: data.can_edit,
    onEdit: (id) => {
      keyboard.showEditTab();
      const field = $(FIRST_FIELD[Model.parse(id).kind]);
      if (field) field.focus();
    },
  });

  function markDirty(value) {
    state.dirty = value;
    $("studio-dirty").hidden = !value;
    if (value) clearSavedMessage();
  }

  const validate = debounce(async () => {
    const reply = await postJSON(data.urls.validate, { document: model.doc });
    if (reply.ok) showProblems(reply.body.problems);
  }, 350);

  /** Keep every problem of the document; show those the user should see now. */
  function showProblems(problems) {
    state.problems = problems;
    const shown = validation.visible(problems);
    graph.markProblems(shown);
    panels.showProblems(shown);
    const box = $("studio-problems");
    box.replaceChildren();
    for (const problem of shown.slice(0, 8)) {
      const target = Model.elementOf(problem.path);
      const item = document.createElement("button");
      item.type = "button";
      item.className = `d-block text-start btn btn-sm mb-1 shadow-sm ${problem.level === "warning" ? "btn-warning" : "btn-danger"}`;
      item.dataset.problem = problem.path;
      const icon = document.createElement("i");
      icon.className = `bi bi-${problem.level === "warning" ? "exclamation-triangle" : "x-octagon"}`;
      icon.setAttribute("aria-hidden", "true");
      item.append(icon, " ", problem.message);
      if (target) item.addEventListener("click", () => graph.select(target.id));
      // The workflow's own settings (its default retries) show while nothing is selected.
      else if (problem.path.startsWith("retry_policy")) item.addEventListener("click", () => graph.select(null));
      box.append(item);
    }
  }

  model.onChange((kind) => {
    if (!data.can_edit) return;
    markDirty(true);
    if (kind !== "position") graph.render();
    if (kind !== "position") validate();
  });

  /** Save, or wait for the save under way (a run started meanwhile waits for it too). */
  function save() {
    if (!data.can_edit) return Promise.resolve(false);
    if (!state.saving) state.saving = sendSave().finally(() => { state.saving = null; });
    return state.saving;
  }

  async function sendSave() {
    const button = document.querySelector("[data-action=save]");
    button.disabled = true;
    validation.attempt(); // from now on every problem shows, touched or not
    const note = $("studio-save-note"); // the author's words for this version (History)
    const reply = await postJSON(data.urls.save, { document: model.doc, positions: model.positions, lock_version: state.lockVersion, message: note ? note.value : "" });
    button.disabled = false;
    if (reply.ok) {
      if (note) note.value = "";
      Object.assign(data, { triggers: reply.body.triggers, steps: reply.body.steps });
      state.lockVersion = reply.body.lock_version;
      model.load(reply.body.document, model.positions);
      // What was saved has no errors: a refused save's error (kept with the problems until
      // the next check answers) must not come back when a field is left meanwhile.
      state.problems = state.problems.filter((problem) => problem.level !== "error");
      validation.settle();
      graph.render();
      markDirty(false);
      $("studio-version").textContent = `v${state.lockVersion}`;
      $("studio-title").textContent = reply.body.name;
      panels.show(graph.selectedId);
      runs.select(graph.selectedId);
      showSaveMessage({ saved: true, message: `Saved as version ${state.lockVersion}.`, triggers: reply.body.triggers });
      document.body.dispatchEvent(new CustomEvent("studio:saved")); // an open History re-reads
      validate();
      return true;
    }
    if (reply.status === 409) {
      toast(reply.body.error, "danger");
      showConflict(reply.body.error);
      // Who saved since and what they changed; reloading theirs must not ask "leave site?".
      showSaveConflict({
        since: state.lockVersion,
        copyText: () => JSON.stringify(model.doc, null, 2),
        onReload: () => { markDirty(false); window.location.reload(); },
      });
    } else if (reply.status === 422) {
      const problem = { path: reply.body.field || "", message: reply.body.error, level: "error" };
      showProblems([problem, ...state.problems.filter((p) => p.path !== problem.path)]);
      const target = Model.elementOf(problem.path);
      if (target) graph.select(target.id);
      showSaveMessage({ saved: false, message: `Not saved: ${reply.body.error} Fix what is marked in red, then save again.` });
    } else {
      showSaveMessage({ saved: false, message: `Not saved: ${reply.body.error || "the workflow could not be saved."}` });
    }
    return false;
  }

  function showConflict(message) {
    const box = $("studio-problems");
    const alert = document.createElement("div");
    alert.className = "alert alert-danger shadow-sm py-2 mb-1";
    alert.setAttribute("role", "alert");
    alert.id = "studio-conflict";
    alert.append(message, " ");
    const reload = document.createElement("a");
    reload.href = window.location.href;
    reload.textContent = "Reload (your unsaved changes will be lost)";
    alert.append(reload);
    const old = $("studio-conflict");
    if (old) old.remove();
    box.prepend(alert);
  }

  const actions = {
    "add-webhook": () => graph.select(model.addTrigger("webhook")),
    "add-cron": () => graph.select(model.addTrigger("cron")),
    "add-step": () => graph.select(model.addStep(graph.selectedNode() ? graph.selectedNode().id() : null)),
    delete: () => removeSelected(),
    layout: () => graph.layout(),
    "zoom-in": () => graph.zoom(1.25),
    "zoom-out": () => graph.zoom(0.8),
    fit: () => graph.fit(),
    "workflow-settings": () => graph.select(null), // the side panel then shows the workflow's
    save: () => save(),
    run: () => runs.start(),
  };
  document.querySelectorAll("[data-action]").forEach((button) => {
    button.addEventListener("click", () => actions[button.dataset.action]());
  });
  // Enter in the version message (Save's menu) saves and closes the menu, like its button.
  const saveNote = $("studio-save-note");
  if (saveNote) saveNote.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const toggle = saveNote.closest(".btn-group").querySelector("[data-bs-toggle=dropdown]");
    if (window.bootstrap) window.bootstrap.Dropdown.getOrCreateInstance(toggle).hide();
    save();
  });

  function removeSelected() {
    if (!data.can_edit || !graph.selectedId) return;
    const id = graph.selectedId;
    const item = model.item(id);
    const what = Model.parse(id).kind === "edge" ? "this edge" : `“${(item && (item.name || item.type)) || Model.parse(id).key}” and its edges`;
    if (!window.confirm(`Delete ${what}? This takes effect when you save.`)) return;
    const said = keyboard.describe(id);
    if (keyboard.source === id) keyboard.finish();
    graph.select(null);
    model.remove(id);
    keyboard.announce(`Deleted ${said}. Save to keep the change.`);
    // Keep keyboard users on the canvas rather than losing focus with the removed node.
    if (document.activeElement === document.body || document.activeElement === $("studio-canvas")) $("studio-canvas").focus();
  }

  document.addEventListener("keydown", (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.key.toLowerCase() === "s") { event.preventDefault(); save(); return; }
    if (mod && event.key === "Enter") { event.preventDefault(); if (data.can_edit) runs.start(); return; }
    const typing = event.target.closest("input, textarea, select, .ace_editor, [contenteditable]");
    if (!typing && (event.key === "Delete" || event.key === "Backspace") && graph.selectedId) {
      event.preventDefault();
      removeSelected();
    }
  });
  window.addEventListener("beforeunload", (event) => {
    if (!state.dirty) return;
    event.preventDefault();
    event.returnValue = ""; // the browser shows its own "leave site?" dialog
  });

  graph.render();
  graph.fit();
  validate();
  window.ferryStudio = { graph, model, panels, builder, runs, save, state, keyboard };
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
