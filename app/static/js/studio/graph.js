// The canvas: Cytoscape draws the model; edgehandles connects nodes by dragging; dagre lays
// them out. Run states and validation problems are painted onto the nodes and edges.
import { Model } from "./model.js";

/** How each run state looks on the canvas, read from the hidden badges the states macro draws
 * (macros/states.html): the same colour as every badge, the fill a pale tint of it, and the
 * label the macro's sign and the state's word. */
function stateLooks() {
  const looks = {};
  document.querySelectorAll("[data-state-palette] [data-state]").forEach((badge) => {
    const colour = getComputedStyle(badge).backgroundColor;
    const [r, g, b] = (colour.match(/\d+(\.\d+)?/g) || [108, 117, 125]).map(Number);
    const tint = (c) => Math.round(c + (255 - c) * 0.8);
    looks[badge.dataset.state] = { border: colour, fill: `rgb(${tint(r)}, ${tint(g)}, ${tint(b)})`, label: `${badge.dataset.symbol} ${badge.dataset.state}` };
  });
  return looks;
}
// A comparison's marks (studio/versions.js): a word on the element as well as a colour.
const MARK_WORDS = { added: "+ added", changed: "~ changed", removed: "− removed" };
const CONDITION_LABELS = { always: "", on_job_success: "on success", on_job_failure: "on failure" };

/** Schedules in words by "expression|zone", as the server wrote them on [data-cron-words]
 * elements (the saved triggers, and each cron preview); the expression until one is known. */
const cronWords = new Map();
function scheduleWords(t) {
  document.querySelectorAll("[data-cron-words]").forEach((el) => cronWords.set(`${el.dataset.expression}|${el.dataset.timezone}`, el.dataset.cronWords));
  const expression = (t.cron_expression || "").trim().split(/\s+/).join(" ");
  return cronWords.get(`${expression}|${t.cron_timezone || "UTC"}`) || expression;
}

function style(looks) {
  const rules = [
    { selector: "node", style: {
      shape: "round-rectangle", width: 190, height: 58, "background-color": "#ffffff",
      "border-width": 2, "border-color": "#adb5bd", "text-wrap": "wrap",
      "text-max-width": 175, "text-valign": "center", "font-size": 12, color: "#212529",
      "font-family": "system-ui, sans-serif" } },
    { selector: "node[label], edge[label]", style: { label: "data(label)" } },
    { selector: "node[kind = 'trigger']", style: { shape: "round-tag", "background-color": "#f3f0ff", "border-color": "#6f42c1", width: 170 } },
    { selector: "node:selected", style: { "border-color": "#0d6efd", "border-width": 4 } },
    { selector: "node.warning", style: { "border-color": "#ffc107", "border-style": "dashed", "border-width": 3 } },
    { selector: "node.problem", style: { "border-color": "#dc3545", "border-style": "dashed", "border-width": 3 } },
    { selector: "edge", style: {
      width: 2, "line-color": "#6c757d", "target-arrow-color": "#6c757d", "target-arrow-shape": "triangle",
      "curve-style": "bezier", "font-size": 11, "text-background-color": "#ffffff",
      "text-background-opacity": 1, "text-background-padding": 2, color: "#495057" } },
    { selector: "edge[?disabled]", style: { "line-style": "dashed", opacity: 0.6 } },
    { selector: "edge[condition = 'on_job_failure']", style: { "line-color": "#dc3545", "target-arrow-color": "#dc3545" } },
    { selector: "edge:selected", style: { "line-color": "#0d6efd", "target-arrow-color": "#0d6efd", width: 4 } },
    { selector: "edge.problem", style: { "line-color": "#dc3545", "target-arrow-color": "#dc3545", "line-style": "dashed", width: 3 } },
    { selector: ".eh-ghost-edge, edge.eh-preview", style: { "line-color": "#0d6efd", "target-arrow-color": "#0d6efd", "line-style": "dashed" } },
    { selector: ".eh-ghost-node", style: { opacity: 0 } },
    { selector: "node.eh-hover", style: { "border-color": "#0d6efd", "border-width": 4 } },
    { selector: "node[mark]", style: { height: 74, "border-width": 4 } },
    { selector: "node[mark = 'added']", style: { "border-color": "#198754", "background-color": "#d1e7dd" } },
    { selector: "node[mark = 'changed']", style: { "border-color": "#fd7e14", "background-color": "#fff3cd" } },
    { selector: "node[mark = 'removed']", style: { "border-color": "#6c757d", "border-style": "dashed", "background-color": "#e9ecef", opacity: 0.7 } },
    { selector: "edge[mark = 'added']", style: { "line-color": "#198754", "target-arrow-color": "#198754", width: 3 } },
    { selector: "edge[mark = 'changed']", style: { "line-color": "#fd7e14", "target-arrow-color": "#fd7e14", width: 3 } },
    { selector: "edge[mark = 'removed']", style: { "line-color": "#adb5bd", "target-arrow-color": "#adb5bd", "line-style": "dashed" } },
  ];
  for (const [state, { border, fill }] of Object.entries(looks)) {
    rules.push({ selector: `node[state = '${state}']`, style: { "border-color": border, "background-color": fill, "border-width": 4 } });
  }
  return rules;
}

export class Graph {
  constructor(container, model, { editable, onSelect }) {
    this.model = model;
    this.editable = editable;
    this.onSelect = onSelect;
    this.states = {};
    this.marks = {};
    this.looks = stateLooks();
    // A cron preview brings the typed schedule in words: relabel the node with them.
    document.addEventListener("htmx:afterSwap", (e) => { if (e.target.id === "cron-preview") this.render(); });
    this.cy = window.cytoscape({
      container, style: style(this.looks), minZoom: 0.25, maxZoom: 2.5,
      autoungrabify: !editable, boxSelectionEnabled: false, selectionType: "single",
    });
    this.cy.on("tap", "node, edge", (event) => this.select(event.target.id()));
    this.cy.on("tap", (event) => { if (event.target === this.cy) this.select(null); });
    if (editable) this.enableEditing(container);
  }

  enableEditing(container) {
    this.handles = this.cy.edgehandles({
      canConnect: (source, target) => !this.model.connectProblem(source.id(), target.id()),
      edgeParams: () => ({ data: { preview: true } }),
      hoverDelay: 60, snap: true, snapThreshold: 30,
    });
    this.cy.on("ehcomplete", (event, source, target, added) => {
      added.remove();
      const result = this.model.connect(source.id(), target.id());
      if (result.key) this.select(`edge:${result.key}`);
    });
    this.cy.on("dragfree", "node", (event) => {
      const { x, y } = event.target.position();
      this.model.setPosition(event.target.id(), x, y);
    });
    const handle = container.parentElement.querySelector("#studio-handle");
    const plus = container.parentElement.querySelector("#studio-plus");
    this.cy.on("ehstart", () => { this.drawing = true; });
    this.cy.on("ehstop", () => { this.drawing = false; });
    this.cy.on("mouseover mousemove", "node", (event) => {
      if (!this.drawing) this.place(handle, event.target, "handle");
    });
    this.cy.on("pan zoom position", () => { this.place(plus, this.selectedNode(), "plus"); handle.hidden = true; });
    handle.addEventListener("mousedown", (event) => {
      event.preventDefault();
      if (!this.hovered) return;
      this.handles.start(this.hovered);
      handle.hidden = true;
      // The gesture began on our overlay, not on the canvas, so Cytoscape may not see the
      // release: finish it ourselves (stop() completes it when a target is previewed).
      window.addEventListener("mouseup", () => this.handles.stop(), { once: true });
    });
    plus.addEventListener("click", () => {
      const node = this.selectedNode();
      if (!node) return;
      const { x, y } = node.position();
      const id = this.model.addStep(node.id(), { x, y: y + 120 });
      this.select(id);
      this.keepInView([id]); // it may land below the visible part of the canvas
    });
    this.plusButton = plus;
  }

  place(button, node, kind) {
    if (!button) return;
    if (!node || node.removed()) { button.hidden = true; return; }
    const box = node.renderedBoundingBox({ includeLabels: false });
    if (kind === "handle") {
      this.hovered = node;
      button.style.left = `${box.x2 - 4}px`;
      button.style.top = `${box.y2 - 4}px`;
    } else {
      button.style.left = `${(box.x1 + box.x2) / 2}px`;
      button.style.top = `${box.y2 + 18}px`;
    }
    button.hidden = false;
  }

  selectedNode() {
    const node = this.cy.$("node:selected");
    return node.length ? node[0] : null;
  }

  select(id) {
    this.cy.elements().unselect();
    if (id) this.cy.getElementById(id).select();
    this.selectedId = id && this.cy.getElementById(id).length ? id : null;
    if (this.plusButton) this.place(this.plusButton, this.selectedNode(), "plus");
    this.onSelect(this.selectedId);
  }

  /** Pan so that the element is on screen (keyboard moves may reach one outside the view). */
  reveal(id) {
    const element = this.cy.getElementById(id);
    if (!element.length) return;
    const { width, height } = this.cy.container().getBoundingClientRect();
    const box = element.renderedBoundingBox();
    if (box.x1 < 0 || box.y1 < 0 || box.x2 > width || box.y2 > height) this.cy.center(element);
    if (this.plusButton) this.place(this.plusButton, this.selectedNode(), "plus");
  }

  /** Bring the drawing in line with the model (cheap enough to do on every change). */
  render() {
    const wanted = new Map();
    const { doc } = this.model;
    for (const [key, t] of Object.entries(doc.triggers)) {
      const what = t.type === "cron" ? `Schedule\n${scheduleWords(t)}` : "Webhook";
      const id = Model.nodeId("trigger", key);
      const mark = this.marks[id] ? `${MARK_WORDS[this.marks[id]]}\n` : "";
      wanted.set(id, { group: "nodes", data: { kind: "trigger", label: `${mark}⚡ ${what}${t.enabled === false ? "\n(disabled)" : ""}`, mark: this.marks[id] } });
    }
    for (const [key, j] of Object.entries(doc.jobs)) {
      const id = Model.nodeId("job", key);
      const state = this.states[id];
      const lines = [j.name || "(no name)", j.adaptor || "no adaptor"];
      if (state) lines.push(this.looks[state] ? this.looks[state].label : state);
      if (this.marks[id]) lines.unshift(MARK_WORDS[this.marks[id]]);
      wanted.set(id, { group: "nodes", data: { kind: "job", label: lines.join("\n"), state: state || "", mark: this.marks[id] } });
    }
    for (const [key, e] of Object.entries(doc.edges)) {
      const ends = this.model.edgeEnds(key);
      if (!wanted.has(ends.source) || !wanted.has(ends.target)) continue;
      let text = e.condition_label || (e.condition_type === "expression" ? `if ${e.condition_expression || "…"}` : CONDITION_LABELS[e.condition_type] || "");
      if (text.length > 40) text = `${text.slice(0, 39)}…`;
      const mark = this.marks[`edge:${key}`];
      if (mark) text = text ? `${MARK_WORDS[mark]}: ${text}` : MARK_WORDS[mark];
      wanted.set(`edge:${key}`, { group: "edges", data: { ...ends, label: text, condition: e.condition_type, disabled: e.enabled === false, mark } });
    }
    const fresh = [];
    this.cy.batch(() => {
      this.cy.elements().forEach((el) => { if (!wanted.has(el.id()) && !el.data("preview")) el.remove(); });
      for (const [id, spec] of wanted) {
        const el = this.cy.getElementById(id);
        if (el.length) {
          const { source, target, ...rest } = spec.data;
          el.data(rest);
        } else {
          const position = this.model.positions[id];
          this.cy.add({ group: spec.group, data: { id, ...spec.data }, position: position ? { ...position } : undefined });
          if (spec.group === "nodes" && !position) fresh.push(id);
        }
      }
    });
    if (fresh.length) {
      this.placeNew(fresh);
      this.keepInView(fresh);
    }
    document.getElementById("studio-empty").hidden = this.cy.nodes().length > 0;
  }

  placeNew(ids) {
    const placed = this.cy.nodes().filter((n) => !ids.includes(n.id()));
    if (!placed.length) { this.layout(false); return; }
    // A new node goes below its source if it has one, else to the right of everything.
    const box = placed.boundingBox();
    ids.forEach((id, index) => {
      const node = this.cy.getElementById(id);
      const incoming = node.incomers("node");
      const spot = incoming.length
        ? { x: incoming[0].position("x"), y: incoming[0].position("y") + 120 }
        : { x: box.x2 + 130 + index * 210, y: box.y1 + 29 };
      node.position(spot);
      this.model.positions[id] = { x: Math.round(spot.x), y: Math.round(spot.y) };
    });
  }

  keepInView(ids) {
    const { width, height } = this.cy.container().getBoundingClientRect();
    const outside = ids.some((id) => {
      const box = this.cy.getElementById(id).renderedBoundingBox();
      return box.x1 < 0 || box.y1 < 0 || box.x2 > width || box.y2 > height;
    });
    if (outside) this.fit();
  }

  layout(notify = true) {
    const run = this.cy.layout({ name: "dagre", rankDir: "TB", nodeSep: 60, rankSep: 70, animate: false, fit: false });
    run.run();
    this.fit();
    this.cy.nodes().forEach((node) => {
      const { x, y } = node.position();
      this.model.positions[node.id()] = { x: Math.round(x), y: Math.round(y) };
    });
    if (notify) this.model.changed("position");
  }

  fit() {
    if (this.cy.nodes().length) this.cy.fit(undefined, 50);
    if (this.cy.zoom() > 1.3) { this.cy.zoom(1.3); this.cy.center(); }
  }

  zoom(factor) {
    const { width, height } = this.cy.container().getBoundingClientRect();
    this.cy.zoom({ level: this.cy.zoom() * factor, renderedPosition: { x: width / 2, y: height / 2 } });
  }

  /** Mark elements added, changed or removed ({"job:fetch": "changed"}) for a comparison. */
  paintMarks(marks) {
    this.marks = marks || {};
    this.render();
  }

  paintRun(states) {
    this.states = states;
    this.render();
  }

  markProblems(problems) {
    this.cy.elements().removeClass("problem warning");
    for (const problem of problems) {
      const target = Model.elementOf(problem.path);
      if (target) this.cy.getElementById(target.id).addClass(problem.level === "warning" ? "warning" : "problem");
    }
  }

  /** Where a node is on the screen (tests and overlays use it). */
  screenPosition(id) {
    const node = this.cy.getElementById(id);
    const rect = this.cy.container().getBoundingClientRect();
    const p = node.renderedPosition();
    return { x: rect.left + p.x, y: rect.top + p.y };
  }
}
