// A saved version on the canvas, read-only (workflows/version.html): the same drawing as the
// builder, nothing draggable or editable; in a comparison each added, changed or removed
// element carries its mark, and selecting a step shows it as it was in that version.
import { Graph } from "./graph.js";
import { Model } from "./model.js";

function detail(model, id) {
  const box = document.getElementById("version-detail");
  if (!box) return;
  box.replaceChildren();
  if (!id) return;
  const { kind, key } = Model.parse(id);
  const item = model.item(id) || {};
  const title = document.createElement("h3");
  title.className = "h6";
  title.textContent = kind === "job" ? `Step “${item.name || key}”` : kind === "trigger" ? `Trigger “${key}”` : `Edge ${key}`;
  const facts = document.createElement("dl");
  facts.className = "row small mb-2";
  const rows = kind === "job"
    ? [["Adaptor", item.adaptor], ["Credential", item.credential]]
    : Object.entries(item).filter(([name]) => !["body"].includes(name));
  for (const [name, value] of rows) {
    const term = document.createElement("dt");
    term.className = "col-5 fw-normal text-body-secondary";
    term.textContent = name.replaceAll("_", " ");
    const text = document.createElement("dd");
    text.className = "col-7 mb-1 text-break";
    text.textContent = value === null || value === undefined || value === "" ? "(none)" : String(value);
    facts.append(term, text);
  }
  box.append(title, facts);
  if (kind === "job") {
    const body = document.createElement("pre");
    body.className = "small border rounded bg-body-tertiary p-2 text-wrap";
    body.id = "version-body";
    body.setAttribute("aria-label", "Job body");
    body.textContent = item.body || "(empty body)";
    box.append(body);
  }
}

function start() {
  const data = JSON.parse(document.getElementById("version-data").textContent);
  const model = new Model(data.document, data.positions);
  const graph = new Graph(document.getElementById("studio-canvas"), model, {
    editable: false,
    onSelect: (id) => detail(model, id),
  });
  graph.paintMarks(data.marks);
  graph.fit();
  // Restoring saves a new version: its form's data-confirm asks first (js/behaviours.js).
  window.ferryVersion = { graph, model };
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
else start();
