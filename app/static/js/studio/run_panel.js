// The run panel: choose an input, start a run of the saved workflow (whole or from the
// selected step), paint its progress on the canvas and show the selected step's results.
import { Model } from "./model.js";
import { createEditor } from "./editor.js";
import { fill, get, postForm, toast } from "./util.js";

const $ = (id) => document.getElementById(id);
const LOOK = {
  success: ["success", "check-circle-fill"], failed: ["danger", "x-circle-fill"],
  crashed: ["warning", "exclamation-triangle-fill"], killed: ["ferry-killed", "stop-circle-fill"],
  lost: ["secondary", "question-circle-fill"], cancelled: ["secondary", "slash-circle"],
  exception: ["ferry-exception", "bug-fill"], available: ["primary", "clock"],
  claimed: ["primary", "clock"], started: ["primary", "arrow-repeat"],
};
const POLL_MS = 500;

function badge(state) {
  const [colour, icon] = LOOK[state] || ["secondary", "circle"];
  const spin = state === "started" ? " ferry-spin" : "";
  return `<span class="badge ferry-state text-bg-${colour}" data-state="${state}"><i class="bi bi-${icon}${spin}" aria-hidden="true"></i> ${state}</span>`;
}

export class RunPanel {
  constructor(data, model, graph, { save, isDirty }) {
    this.data = data;
    this.model = model;
    this.graph = graph;
    this.save = save;
    this.isDirty = isDirty;
    this.runId = null;
    this.tab = "output";
    this.selected = null;
    this.level = "debug";
    $("run-tabs").addEventListener("click", (event) => {
      const button = event.target.closest("[data-tab]");
      if (!button) return;
      this.tab = button.dataset.tab;
      $("run-tabs").querySelectorAll("[data-tab]").forEach((b) => b.classList.toggle("active", b === button));
      this.loadTab();
    });
    $("step-tab").addEventListener("change", (event) => {
      if (event.target.matches("[data-log-level]")) { this.level = event.target.value; this.loadTab(); }
    });
    if (!data.can_edit) return;
    $("run-form").addEventListener("change", (event) => { if (event.target.name === "source") this.showSource(); });
    $("run-form").addEventListener("submit", (event) => { event.preventDefault(); this.start(); });
    $("run-choices").addEventListener("change", () => this.previewStored());
    $("save-input-button").addEventListener("click", () => this.saveInput());
  }

  source() {
    return new FormData($("run-form")).get("source");
  }

  async showSource() {
    const source = this.source();
    document.querySelectorAll("[data-source]").forEach((el) => { el.hidden = el.dataset.source !== source; });
    if (source === "custom" && !this.input) {
      this.input = createEditor($("run-input-editor"), "json", { onChange: () => this.clearInputError() });
      this.input.setValue('{\n  "data": {}\n}', 1);
    }
    if (source === "stored") {
      const reply = await get(this.data.urls.inputs);
      if (reply.ok) $("run-choices").innerHTML = reply.body;
      this.previewStored();
    }
  }

  async previewStored() {
    const id = $("run-dataclip") && $("run-dataclip").value;
    const box = $("run-dataclip-preview");
    if (!id) { box.hidden = true; return; }
    const reply = await get(fill(this.data.urls.input_body, this.data.marker, id));
    box.hidden = !reply.ok;
    if (reply.ok) box.textContent = JSON.stringify(reply.body.body, null, 2);
  }

  clearInputError() {
    $("run-input-error").textContent = "";
    $("run-input-error").classList.remove("d-block");
    $("run-input-editor").classList.remove("is-invalid");
  }

  inputError(message) {
    bootstrap.Tab.getOrCreateInstance($("tab-run")).show();
    $("run-input-error").textContent = message;
    $("run-input-error").classList.add("d-block");
    $("run-input-editor").classList.add("is-invalid");
    if (this.input) this.input.focus();
  }

  /** Called when the canvas selection changes. */
  select(id) {
    this.selected = id && Model.parse(id).kind === "job" ? id : null;
    const key = this.selected ? Model.parse(this.selected).key : null;
    const job = key ? this.model.doc.jobs[key] : null;
    const savedId = key ? this.data.steps[key] : null;
    $("run-step-name").textContent = job ? job.name || key : "select a step on the canvas";
    if (this.data.can_edit) {
      $("run-start-step").disabled = !savedId;
      if (!savedId) $("run-start-all").checked = true;
      $("run-start-step-name").textContent = job ? job.name || key : "select a saved step";
    }
    if (this.runId) this.loadTab();
  }

  fields() {
    const fields = new FormData();
    const source = this.source();
    fields.set("source", source);
    if (source === "custom") fields.set("custom", this.input ? this.input.getValue() : "{}");
    if (source === "stored") fields.set("dataclip_id", $("run-dataclip") ? $("run-dataclip").value : "");
    return fields;
  }

  async start() {
    bootstrap.Tab.getOrCreateInstance($("tab-run")).show();
    const fields = this.fields();
    if (fields.get("source") === "custom") {
      try {
        const value = JSON.parse(fields.get("custom"));
        if (value === null || typeof value !== "object" || Array.isArray(value)) throw new Error('The input must be a JSON object, e.g. {"data": {}}.');
      } catch (error) {
        this.inputError(error instanceof SyntaxError ? `The input is not valid JSON: ${error.message}` : error.message);
        return;
      }
    }
    if (this.isDirty() && !(await this.save())) {
      toast("The run was not started: save the workflow first (runs use the saved version).", "warning");
      return;
    }
    if (new FormData($("run-form")).get("start") === "step" && this.selected) {
      fields.set("step_id", this.data.steps[Model.parse(this.selected).key] || "");
    }
    $("run-button").disabled = true;
    const reply = await postForm(this.data.urls.start_run, fields);
    $("run-button").disabled = false;
    if (!reply.ok) {
      if (reply.body.field === "input") this.inputError(reply.body.error);
      else toast(reply.body.error || "The run could not be started.", "danger");
      return;
    }
    this.runId = reply.body.run_id;
    $("run-status").innerHTML = `<div class="small">Run <code>${this.runId.slice(0, 8)}</code> ${badge("available")}</div>`;
    $("run-results").hidden = false;
    this.graph.paintRun({});
    this.poll();
  }

  async poll() {
    const runId = this.runId;
    const reply = await get(fill(this.data.urls.progress, this.data.marker, runId));
    if (runId !== this.runId) return; // a newer run took over
    if (!reply.ok) { setTimeout(() => this.poll(), POLL_MS * 4); return; }
    const progress = reply.body;
    const byId = Object.fromEntries(Object.entries(this.data.steps).map(([key, id]) => [id, Model.nodeId("job", key)]));
    const states = {};
    for (const [stepId, step] of Object.entries(progress.steps)) if (byId[stepId]) states[byId[stepId]] = step.state;
    this.graph.paintRun(states);
    const error = progress.error ? `<div class="small text-danger mt-1">${progress.error.replace(/[<>&]/g, "")}</div>` : "";
    $("run-status").innerHTML = `<div class="small">Run <code>${runId.slice(0, 8)}</code> ${badge(progress.state)} <a class="ms-1" href="${this.data.urls.history}">History</a></div>${error}`;
    if (this.selected) this.loadTab();
    if (progress.final) {
      toast(`The run finished: ${progress.state}.`, progress.state === "success" ? "success" : "danger");
      return;
    }
    setTimeout(() => this.poll(), POLL_MS);
  }

  async loadTab() {
    if (!this.runId) return;
    const stepId = this.selected ? this.data.steps[Model.parse(this.selected).key] : "";
    const params = new URLSearchParams({ tab: this.tab, step_id: stepId || "", level: this.level });
    const reply = await get(`${fill(this.data.urls.step_tab, this.data.marker, this.runId)}?${params}`);
    if (reply.ok) $("step-tab").innerHTML = reply.body;
  }

  async saveInput() {
    const fields = this.fields();
    fields.set("name", $("save-input-name").value);
    const reply = await postForm(this.data.urls.inputs, fields);
    const message = $("save-input-message");
    if (!reply.ok) {
      message.className = "small mt-1 text-danger";
      message.textContent = reply.body.error || "The input could not be saved.";
      return;
    }
    $("run-choices").innerHTML = reply.body;
    message.className = "small mt-1 text-success";
    message.textContent = `Saved “${$("save-input-name").value.trim()}”. Choose it under “Saved or recent”.`;
    $("save-input-name").value = "";
  }
}
