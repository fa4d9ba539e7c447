// The request builder: htmx loads the form of an operation (templates/workflows/
// _request_form.html) and sends it; the server answers with the job code in the
// `ferry:insert-line` event. What stays here is what only the browser has: the step body
// in its editor (the statement under the cursor, where the code goes), the form's own rows,
// and the data mapper's clicks (a field of the sample fills the selected value box).
import { Model } from "./model.js";
import { $ } from "./util.js";

const VALUE_BOX = "input[name$='-value'], input[name$='-rowvalue'], textarea[name$='-value']";

export class RequestBuilder {
  constructor(model, panels) {
    this.model = model;
    this.panels = panels;
    this.target = null; // the value box a click on the sample's tree fills
    const builder = $("request-builder");
    if (!builder) return; // viewers have no request builder
    builder.addEventListener("htmx:configRequest", (event) => this.configure(event));
    document.body.addEventListener("ferry:insert-line", (event) => this.insert(event.detail));
    builder.addEventListener("change", (event) => {
      if (event.target.matches("[data-mode-select]")) this.switchMode(event.target.closest("[data-param]"), event.target.value);
      if (event.target.id === "rb-sample") $("rb-sample-paste").hidden = event.target.value !== "paste";
    });
    builder.addEventListener("focusin", (event) => {
      if (event.target.matches(VALUE_BOX) && event.target.closest("#rb-op-form")) this.choose(event.target);
    });
    // Typing a value into the chosen box means giving it by hand: the sample's fields then
    // go to the first empty row of fields again.
    builder.addEventListener("input", (event) => {
      if (event.isTrusted && event.target === this.target && event.target.value) this.choose(null);
    });
    builder.addEventListener("click", (event) => this.onClick(event));
    // The preview follows the form: opened, reopened, shown again with an error, or closed.
    builder.addEventListener("htmx:afterSettle", (event) => {
      if (event.detail.target.id !== "rb-form") return;
      this.choose(null); // a new form (or none): the mapper says what a click fills now
      window.htmx.trigger(document.body, "ferry:rb-form");
    });
    // A step shown anew brings the toolbar anew: its sample may be another step's output.
    document.body.addEventListener("htmx:oobAfterSwap", (event) => {
      if (event.detail.target.id === "rb-toolbar" && $("rb-sample")?.value === "previous") window.htmx.trigger(document.body, "ferry:sample-reload");
    });
  }

  /** "Edit line" sends the body and the cursor's row (the server finds the whole statement);
   *  the mapper's requests say which saved step is selected. */
  configure(event) {
    const id = event.detail.elt.id;
    if (id === "rb-reopen") {
      event.detail.parameters.body = this.panels.body.getValue();
      event.detail.parameters.line_row = String(this.panels.body.getCursorPosition().row);
    }
    if (id === "rb-sample-form" || id === "rb-preview") {
      const key = this.panels.current ? Model.parse(this.panels.current).key : null;
      event.detail.parameters.step_id = (key && this.panels.data.steps[key]) || "";
    }
  }

  insert({ line, row, end }) {
    const editor = this.panels.body;
    const session = editor.session;
    const Range = window.ace.require("ace/range").Range;
    let at = row;
    if (at === null || at === undefined) {
      at = editor.getCursorPosition().row;
      if (session.getLine(at).trim() !== "") {
        session.insert({ row: at, column: session.getLine(at).length }, "\n");
        at += 1;
      }
      end = at;
    }
    const last = Math.min(end ?? at, session.getLength() - 1);
    session.replace(new Range(at, 0, last, session.getLine(last).length), line);
    const lines = line.split("\n");
    editor.gotoLine(at + lines.length, lines[lines.length - 1].length, false);
    this.model.update(this.panels.current, { body: editor.getValue() });
    editor.focus();
  }

  onClick(event) {
    const add = event.target.closest("[data-add-row]");
    if (add) {
      const form = add.closest("form");
      const name = add.dataset.addRow;
      const box = form.querySelector(`[data-rows="${name}"]`);
      box.append(form.querySelector(`[data-row-template="${name}"]`).content.cloneNode(true));
      // The new row's value box is what the sample's fields fill; its name is typed first.
      this.choose(box.lastElementChild.querySelector(VALUE_BOX));
      box.lastElementChild.querySelector("input").focus();
    }
    const remove = event.target.closest("[data-remove-row]");
    if (remove) {
      if (this.target && remove.closest("[data-row]").contains(this.target)) this.choose(null);
      remove.closest("[data-row]").remove();
    }
    if (event.target.closest("[data-rb-close]")) {
      $("rb-form").replaceChildren();
      $("rb-message").textContent = "";
      this.choose(null);
      window.htmx.trigger(document.body, "ferry:rb-form");
    }
    const field = event.target.closest("[data-path]");
    if (field) this.fill(field.dataset.path);
    const each = event.target.closest("[data-each]");
    if (each) this.repeat(each.dataset.each);
  }

  /** Make `box` the value box the sample's fields fill, and say so. */
  choose(box) {
    document.querySelectorAll("[data-rb-target]").forEach((el) => el.removeAttribute("data-rb-target"));
    this.target = box;
    if (box) box.setAttribute("data-rb-target", "");
    const next = box || ($("rb-op-form") ? this.firstEmptyRow($("rb-op-form")) : null);
    if (next) this.say(`Clicking a field of the sample fills ${this.describe(next)}${box ? "" : " (or click the value box to fill first)"}.`);
    else if ($("rb-op-form")) this.say("Click a value box in the form, then a field of the sample to fill it.");
    else this.say("Open a form above, click a value box in it, then click a field of the sample to fill it.");
  }

  /** "Body → “full_name”" or "Path or URL": which value box, in the form's words. */
  describe(box) {
    const param = box.closest("[data-param]");
    const title = param.querySelector("label").textContent.trim();
    const key = box.closest("[data-row]")?.querySelector("input[name$='-key']");
    return key ? `${title} → “${key.value || "(no name yet)"}”` : title;
  }

  say(text) {
    if ($("rb-target")) $("rb-target").textContent = text;
  }

  /** Fill the chosen value box with `path` of the sample, as a value from the input: inside
   *  "Repeat for each", a field of one record is written from the record (`data.name`). */
  fill(path) {
    const form = $("rb-op-form");
    if (!form) return this.say("Open a form above first: choose an operation and press Open form.");
    let box = this.target && form.contains(this.target) ? this.target : null;
    if (!box) box = this.firstEmptyRow(form);
    if (!box) return this.say("Click the value box in the form that this field should fill, then the field.");
    let value = path;
    const each = (form.querySelector("#rb-each")?.value || "").trim().replace(/^(S|state)\./, "");
    if (each) {
      const inside = path.startsWith(`${each}.`) ? path.slice(each.length + 1).split(".") : null;
      if (!inside || !/^\d+$/.test(inside[0])) {
        return this.say(`Inside “Repeat for each ${each}”, data is one record: click a field of a record of ${each}.`);
      }
      value = ["data", ...inside.slice(1)].join(".");
    }
    const row = box.closest("[data-row]");
    const mode = row ? row.querySelector("select[name$='-rowmode']") : box.closest("[data-param]").querySelector("[data-mode-select]");
    if (row) {
      mode.value = "input";
      const key = row.querySelector("input[name$='-key']");
      if (key && !key.value) key.value = path.split(".").pop().replace(/^\d+$/, "item");
    } else if (mode && mode.value !== "input") {
      mode.value = "input";
      this.switchMode(box.closest("[data-param]"), "input");
      box = box.closest("[data-param]").querySelector("[data-mode=input] input");
    }
    box.value = value;
    this.choose(box);
    const where = this.describe(box);
    this.say(`Filled ${where} with ${value} (the code reads S.${value}${each ? ", for each record" : ""}). Click another value box to fill it next.`);
    box.dispatchEvent(new Event("change", { bubbles: true }));
  }

  /** With no value box chosen: the first empty row of the first list of named fields. */
  firstEmptyRow(form) {
    return [...form.querySelectorAll("[data-mode=fields]:not([hidden]) input[name$='-rowvalue']")].find((el) => !el.value) || null;
  }

  repeat(path) {
    const each = $("rb-each");
    if (!each) return this.say("Open a form above first: choose an operation and press Open form.");
    each.value = path;
    each.dispatchEvent(new Event("change", { bubbles: true }));
    this.say(`Repeats for each record of ${path}: click a field of a record to fill the selected value box.`);
  }

  /** Show the chosen way of giving a parameter; only its inputs are sent. */
  switchMode(param, mode) {
    // The parameter's label points at its value box by id: the id moves to the box of the
    // chosen way, so the label (and a screen reader) names the box that is shown.
    const valueId = `rb-${param.dataset.param}-value`;
    param.querySelectorAll("[data-mode]").forEach((block) => {
      const active = block.dataset.mode === mode;
      block.hidden = !active;
      block.querySelectorAll("input, select, textarea").forEach((el) => {
        if (el.closest("template")) return;
        el.disabled = !active;
        if (el.id === valueId) el.removeAttribute("id");
      });
    });
    const chosen = param.querySelector(`[data-mode="${mode}"] [name="${param.dataset.param}-value"]`);
    if (chosen) chosen.id = valueId;
  }
}
