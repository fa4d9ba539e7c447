// The request builder: a server-rendered form per adaptor operation that writes one line of
// job code into the step body, and reopens such a line in the form.
import { Model } from "./model.js";
import { currentLine, putLine } from "./editor.js";
import { get, postForm } from "./util.js";

const $ = (id) => document.getElementById(id);

export class RequestBuilder {
  constructor(data, model, panels) {
    this.data = data;
    this.model = model;
    this.panels = panels;
    this.row = null; // the body line being edited, when a line was reopened
    this.paths = null;
    if (!data.can_edit) {
      $("request-builder").hidden = true;
      return;
    }
    $("rb-open").addEventListener("click", () => this.open());
    $("rb-reopen").addEventListener("click", () => this.reopen());
  }

  adaptor() {
    const job = (this.panels.current && this.model.item(this.panels.current)) || {};
    return job.adaptor || "";
  }

  /** Called when a step is shown or its adaptor changes: list that adaptor's operations. */
  refresh() {
    if (!this.data.can_edit) return;
    const name = this.adaptor().split("@")[0];
    const spec = this.data.adaptors.find((a) => a.name === name);
    const select = $("rb-operation");
    select.innerHTML = "";
    for (const op of spec ? spec.operations : []) select.add(new Option(`${name}.${op}`, op));
    const usable = Boolean(spec);
    $("rb-open").disabled = !usable;
    $("rb-reopen").disabled = !usable;
    select.disabled = !usable;
    if (!usable) select.add(new Option("Choose the step's adaptor first", ""));
    this.close();
  }

  message(text) {
    $("rb-message").textContent = text || "";
  }

  async open() {
    this.row = null;
    const url = `${this.data.urls.request_form}?${new URLSearchParams({ adaptor: this.adaptor(), operation: $("rb-operation").value })}`;
    const reply = await get(url);
    this.show(reply);
  }

  async reopen() {
    const { row, text } = currentLine(this.panels.body);
    if (!text.trim()) {
      this.message("Put the cursor on a line the form wrote, then press Edit line.");
      return;
    }
    const reply = await postForm(this.data.urls.request_form, { adaptor: this.adaptor(), line: text.trim() });
    if (reply.ok) {
      this.row = row;
      const form = this.show(reply);
      if (form) $("rb-operation").value = form.dataset.operation;
    } else {
      this.message(reply.body.error || "This line cannot be opened in the form.");
    }
  }

  show(reply) {
    this.message("");
    if (!reply.ok) {
      this.message((reply.body && reply.body.error) || "The form could not be loaded.");
      return null;
    }
    $("rb-form").innerHTML = reply.body;
    const form = $("rb-op-form");
    this.wire(form);
    if (this.row !== null) $("rb-insert").innerHTML = '<i class="bi bi-arrow-repeat" aria-hidden="true"></i> Update line';
    const first = form.querySelector("input:not([type=hidden]):not([disabled]), textarea:not([disabled])");
    if (first) first.focus();
    return form;
  }

  close() {
    $("rb-form").innerHTML = "";
    this.row = null;
    this.message("");
  }

  wire(form) {
    form.querySelectorAll("[data-mode-select]").forEach((select) => {
      select.addEventListener("change", () => this.switchMode(select.closest("[data-param]"), select.value));
    });
    form.addEventListener("click", (event) => {
      const add = event.target.closest("[data-add-row]");
      const remove = event.target.closest("[data-remove-row]");
      if (add) {
        const name = add.dataset.addRow;
        const template = form.querySelector(`[data-row-template="${name}"]`);
        const box = form.querySelector(`[data-rows="${name}"]`);
        box.append(template.content.cloneNode(true));
        box.lastElementChild.querySelector("input").focus();
      }
      if (remove) remove.closest("[data-row]").remove();
      if (event.target.closest("[data-rb-close]")) this.close();
    });
    form.addEventListener("submit", (event) => { event.preventDefault(); this.insert(form); });
    form.querySelectorAll("[data-rows]").forEach((box) => {
      if (!box.children.length) form.querySelector(`[data-add-row="${box.dataset.rows}"]`).click();
    });
    this.fillPaths();
  }

  switchMode(param, mode) {
    param.querySelectorAll("[data-mode]").forEach((block) => {
      const active = block.dataset.mode === mode;
      block.hidden = !active;
      block.querySelectorAll("input, select, textarea").forEach((el) => {
        if (!el.closest("template")) el.disabled = !active;
      });
    });
  }

  async fillPaths() {
    if (this.paths === null) {
      const reply = await get(this.data.urls.input_paths);
      this.paths = reply.ok ? reply.body.paths : [];
    }
    const list = $("rb-paths");
    if (!list) return;
    list.innerHTML = "";
    for (const path of ["data", ...this.paths.filter((p) => p !== "data")]) list.append(new Option(path, path));
  }

  async insert(form) {
    form.querySelectorAll("[data-param-error]").forEach((el) => { el.textContent = ""; });
    // Rows of the fields mode are sent only when that mode is active (disabled ones are not).
    const reply = await postForm(this.data.urls.request_line, new FormData(form));
    if (!reply.ok) {
      const slot = form.querySelector(`[data-param-error="${reply.body.field}"]`);
      if (slot) slot.textContent = reply.body.error;
      else this.message(reply.body.error || "The line could not be written.");
      return;
    }
    putLine(this.panels.body, reply.body.line, this.row);
    this.model.update(this.panels.current, { body: this.panels.body.getValue() });
    this.close();
    this.message("");
    this.panels.body.focus();
  }
}

export { Model };
