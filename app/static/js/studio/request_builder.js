// The request builder: htmx loads the form of an operation (templates/workflows/
// _request_form.html) and sends it; the server answers with the line of job code in the
// `ferry:insert-line` event. What stays here is what only the browser has: the step body
// in its editor (the line under the cursor, where the line goes) and the form's own rows.
import { currentLine, putLine } from "./editor.js";
import { $ } from "./util.js";

export class RequestBuilder {
  constructor(model, panels) {
    this.model = model;
    this.panels = panels;
    const builder = $("request-builder");
    if (!builder) return; // viewers have no request builder
    // "Edit line" sends the line under the cursor, and where it is, to be read back.
    builder.addEventListener("htmx:configRequest", (event) => {
      if (event.detail.elt.id !== "rb-reopen") return;
      const { row, text } = currentLine(this.panels.body);
      event.detail.parameters.line = text.trim();
      event.detail.parameters.line_row = String(row);
    });
    document.body.addEventListener("ferry:insert-line", (event) => this.insert(event.detail));
    builder.addEventListener("change", (event) => {
      if (event.target.matches("[data-mode-select]")) this.switchMode(event.target.closest("[data-param]"), event.target.value);
    });
    builder.addEventListener("click", (event) => this.onClick(event));
  }

  insert({ line, row }) {
    putLine(this.panels.body, line, row);
    this.model.update(this.panels.current, { body: this.panels.body.getValue() });
    this.panels.body.focus();
  }

  onClick(event) {
    const add = event.target.closest("[data-add-row]");
    if (add) {
      const form = add.closest("form");
      const name = add.dataset.addRow;
      const box = form.querySelector(`[data-rows="${name}"]`);
      box.append(form.querySelector(`[data-row-template="${name}"]`).content.cloneNode(true));
      box.lastElementChild.querySelector("input").focus();
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) remove.closest("[data-row]").remove();
    if (event.target.closest("[data-rb-close]")) {
      $("rb-form").replaceChildren();
      $("rb-message").textContent = "";
    }
  }

  /** Show the chosen way of giving a parameter; only its inputs are sent. */
  switchMode(param, mode) {
    param.querySelectorAll("[data-mode]").forEach((block) => {
      const active = block.dataset.mode === mode;
      block.hidden = !active;
      block.querySelectorAll("input, select, textarea").forEach((el) => {
        if (!el.closest("template")) el.disabled = !active;
      });
    });
  }
}
