// The run panel. htmx starts the run and swaps in its status fragment, which re-reads itself
// until the run is final (templates/workflows/_run_status.html); the step tabs, the stored
// inputs and saving an input are htmx too. What stays here is what only the browser knows:
// the custom input in its editor, the step selected on the canvas, saving the workflow before
// a run, and painting the canvas from the status fragment's data-step-* attributes.
import { Model } from "./model.js";
import { createEditor } from "./editor.js";
import { $ } from "./util.js";

export class RunPanel {
  constructor(data, model, graph, { save, isDirty }) {
    this.data = data;
    this.model = model;
    this.graph = graph;
    this.save = save;
    this.isDirty = isDirty;
    this.selected = null;
    this.runId = null; // the run whose status is shown
    window.htmx.onLoad((element) => { if (element.id === "run-status") this.showStatus(element); });
    const form = $("run-form");
    if (!form) return; // viewers cannot start runs
    form.addEventListener("change", (event) => { if (event.target.name === "source") this.showSource(); });
    form.addEventListener("htmx:configRequest", (event) => this.addEditorState(event.detail));
    form.addEventListener("htmx:confirm", (event) => this.saveFirst(event));
  }

  showSource() {
    const source = new FormData($("run-form")).get("source");
    document.querySelectorAll("[data-source]").forEach((el) => { el.hidden = el.dataset.source !== source; });
    if (source === "custom" && !this.input) {
      this.input = createEditor($("run-input-editor"), "json", { onChange: () => { $("run-input-error").textContent = ""; } });
      this.input.setValue('{\n  "data": {}\n}', 1);
    }
  }

  /** Starting a run or saving the input sends the input typed in the editor. */
  addEditorState(detail) {
    if (detail.verb === "post") detail.parameters.custom = this.input ? this.input.getValue() : "{}";
  }

  /** Runs use the saved workflow: save unsaved changes first, then start the run. */
  saveFirst(event) {
    if (event.detail.elt !== $("run-form") || !this.isDirty()) return;
    event.preventDefault();
    this.save().then((saved) => {
      if (saved) event.detail.issueRequest(true);
      else $("run-start-error").textContent = "The run was not started: the workflow could not be saved (runs use the saved version).";
    });
  }

  /** Start a run (the toolbar's Run button, Ctrl+Enter). */
  start() {
    window.bootstrap.Tab.getOrCreateInstance($("tab-run")).show();
    $("run-form").requestSubmit();
  }

  /** Called when the canvas selection changes. */
  select(id) {
    this.selected = id && Model.parse(id).kind === "job" ? id : null;
    const key = this.selected ? Model.parse(this.selected).key : null;
    const job = key ? this.model.doc.jobs[key] : null;
    const savedId = key ? this.data.steps[key] : null;
    $("run-step-name").textContent = job ? job.name || key : "select a step on the canvas";
    if ($("run-form")) {
      $("run-step-id").value = savedId || "";
      $("run-start-step").disabled = !savedId;
      if (!savedId) $("run-start-all").checked = true;
      $("run-start-step-name").textContent = job ? job.name || key : "select a saved step";
    }
    window.htmx.trigger(document.body, "ferry:step-tab");
  }

  /** A new or changed run status: paint the canvas and refresh the selected step's tab. */
  showStatus(status) {
    if (!status.dataset.runId) return;
    const nodeOf = Object.fromEntries(Object.entries(this.data.steps).map(([key, id]) => [id, Model.nodeId("job", key)]));
    const states = {};
    status.querySelectorAll("[data-step-id]").forEach((step) => {
      if (nodeOf[step.dataset.stepId]) states[nodeOf[step.dataset.stepId]] = step.dataset.stepState;
    });
    this.graph.paintRun(states);
    $("run-results").hidden = false;
    if (status.dataset.runId !== this.runId) status.scrollIntoView({ block: "start" }); // a new run
    this.runId = status.dataset.runId;
    window.htmx.trigger(document.body, "ferry:step-tab");
  }
}
