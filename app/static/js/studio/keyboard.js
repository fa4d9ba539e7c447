// The canvas by keyboard: with the canvas focused, the arrow keys move the selection through
// triggers, steps and edges; C starts connecting the selected node (pick the target in the
// panel's list, or move to it and press Enter; Escape cancels); Delete removes the selected
// node or edge (main.js asks first). Every change is announced in the panel's live region.
import { Model } from "./model.js";
import { $ } from "./util.js";

const CONDITION_WORDS = { always: "always", on_job_success: "on success", on_job_failure: "on failure", expression: "when its expression holds" };

export class Keyboard {
  constructor({ graph, model, editable, onEdit }) {
    this.graph = graph;
    this.model = model;
    this.editable = editable;
    this.onEdit = onEdit; // move focus into the panel of the selected element
    this.source = null; // the node being connected, while connecting
    this.canvas = $("studio-canvas");
    this.canvas.addEventListener("keydown", (event) => this.onCanvasKey(event));
    // Cytoscape keeps the mouse from focusing its container: a click on the canvas should let
    // the keys that follow act on what was clicked.
    graph.cy.on("tapstart", () => this.canvas.focus({ preventScroll: true }));
    if (!editable) return; // viewers move around and read; the connect panel is not there
    $("connect-cancel").addEventListener("click", () => this.cancel());
    $("connect-targets").addEventListener("click", (event) => {
      const button = event.target.closest("[data-target]");
      if (button) this.connectTo(button.dataset.target);
    });
  }

  /** Say something in the panel's live region (screen readers read it; everyone sees it). */
  announce(text) {
    const region = $("studio-announce");
    region.textContent = text;
    region.hidden = !text;
  }

  describe(id) {
    const { kind, key } = Model.parse(id);
    const item = this.model.item(id) || {};
    if (kind === "trigger") return `${item.type === "cron" ? "schedule" : "webhook"} trigger “${key}”`;
    if (kind === "job") return `step “${item.name || key}”`;
    const ends = this.model.edgeEnds(key);
    return `edge from ${this.describe(ends.source)} to ${this.describe(ends.target)}`;
  }

  /** Every element in a stable reading order: triggers, steps, then edges. */
  order() {
    const { doc } = this.model;
    const ids = [
      ...Object.keys(doc.triggers).map((k) => Model.nodeId("trigger", k)),
      ...Object.keys(doc.jobs).map((k) => Model.nodeId("job", k)),
      ...Object.keys(doc.edges).map((k) => `edge:${k}`),
    ];
    return ids.filter((id) => this.graph.cy.getElementById(id).length);
  }

  targets() {
    return this.source ? this.order().filter((id) => !this.model.connectProblem(this.source, id)) : [];
  }

  onCanvasKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    if (["ArrowRight", "ArrowDown", "ArrowLeft", "ArrowUp"].includes(key)) {
      event.preventDefault();
      this.move(key === "ArrowRight" || key === "ArrowDown" ? 1 : -1);
    } else if (key === "Home" || key === "End") {
      event.preventDefault();
      const ids = this.source ? this.targets() : this.order();
      if (ids.length) this.choose(key === "Home" ? ids[0] : ids[ids.length - 1]);
    } else if (key === "Enter") {
      event.preventDefault();
      if (this.source) this.connectTo(this.graph.selectedId);
      else if (this.graph.selectedId) this.onEdit(this.graph.selectedId);
    } else if (key.toLowerCase() === "c" && !event.shiftKey) {
      event.preventDefault();
      this.start();
    } else if (key === "Escape" && this.source) {
      event.preventDefault();
      this.cancel();
    }
  }

  move(step) {
    const ids = this.source ? this.targets() : this.order();
    if (!ids.length) {
      this.announce(this.source ? "No step can be connected from here." : "The canvas is empty: add a trigger first.");
      return;
    }
    const at = ids.indexOf(this.graph.selectedId);
    const next = at === -1 ? (step > 0 ? 0 : ids.length - 1) : (at + step + ids.length) % ids.length;
    this.choose(ids[next], `${next + 1} of ${ids.length}`);
  }

  choose(id, position = "") {
    this.graph.select(id);
    this.graph.reveal(id);
    const where = position ? ` (${position})` : "";
    if (this.source) {
      this.announce(`Connect to ${this.describe(id)}${where}? Press Enter to connect, Escape to cancel.`);
    } else {
      const hint = !this.editable ? "" : Model.parse(id).kind === "edge" ? " Delete removes it." : " C connects it to a step, Delete removes it.";
      this.announce(`Selected ${this.describe(id)}${where}.${hint}`);
    }
  }

  /** Begin connecting the selected node: list the steps it may lead to. */
  start() {
    if (!this.editable) return;
    const id = this.graph.selectedId;
    if (!id || Model.parse(id).kind === "edge") {
      this.announce("Select a trigger or step first, then press C to connect it.");
      return;
    }
    this.source = id;
    const targets = this.targets();
    if (!targets.length) {
      this.source = null;
      this.announce(`${this.describe(id)} cannot lead to any other step: add a step first.`);
      return;
    }
    const list = $("connect-targets");
    list.replaceChildren();
    for (const target of targets) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "list-group-item list-group-item-action py-1";
      button.dataset.target = target;
      const item = this.model.item(target);
      button.textContent = item.name || Model.parse(target).key;
      list.append(button);
    }
    $("connect-source").textContent = this.describe(id);
    $("connect-panel").hidden = false;
    this.showEditTab();
    this.announce(`Connecting from ${this.describe(id)}: choose the target step in the list, or move to it with the arrow keys and press Enter. Escape cancels.`);
  }

  connectTo(targetId) {
    const source = this.source;
    if (!source) return;
    const problem = targetId ? this.model.connectProblem(source, targetId) : "Choose the step to connect to.";
    if (problem) {
      this.announce(`Not connected: ${problem}`);
      return;
    }
    this.finish();
    const result = this.model.connect(source, targetId);
    const edgeId = `edge:${result.key}`;
    this.graph.select(edgeId);
    const condition = CONDITION_WORDS[this.model.item(edgeId).condition_type] || "";
    this.announce(`Connected ${this.describe(source)} to ${this.describe(targetId)} (${condition}). The edge is selected; save to keep it.`);
    this.canvas.focus();
  }

  cancel() {
    const source = this.source;
    this.finish();
    if (source) this.graph.select(source);
    this.announce("Connecting cancelled.");
    this.canvas.focus();
  }

  finish() {
    this.source = null;
    $("connect-panel").hidden = true;
    $("connect-targets").replaceChildren();
  }

  showEditTab() {
    const tab = $("tab-edit");
    if (window.bootstrap && tab) window.bootstrap.Tab.getOrCreateInstance(tab).show();
  }
}
