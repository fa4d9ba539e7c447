// The side panel: edit the selected step, trigger or edge. Every input writes to the model
// (the unsaved workflow lives in the browser until saved); what the server knows (adaptor
// docs, a saved trigger's authentication) is loaded by htmx.
import { Model } from "./model.js";
import { createEditor, setText } from "./editor.js";
import { Retries } from "./retries.js";
import { Signature } from "./signature.js";
import { $, debounce } from "./util.js";
const PRESETS = {
  hourly: /^0 \* \* \* \*$/,
  daily: /^(\d{1,2}) (\d{1,2}) \* \* \*$/,
  weekly: /^(\d{1,2}) (\d{1,2}) \* \* ([0-6])$/,
};

export class Panels {
  constructor(model, data) {
    this.model = model;
    this.data = data;
    this.current = null;
    this.editable = data.can_edit;
    this.body = createEditor($("step-body-editor"), "python", {
      readOnly: !this.editable,
      onChange: (text) => this.set({ body: text }),
    });
    this.bindStep();
    this.bindTrigger();
    this.bindEdge();
    this.retries = new Retries(model, data.retry, () => this.current); // studio/retries.js
    this.signature = new Signature((fields) => this.set(fields), data.can_admin); // studio/signature.js
    this.checkEgress = debounce(() => this.loadEgressWarnings(), 400);
  }

  set(fields) {
    if (this.current) this.model.update(this.current, fields);
    if ("body" in fields || "credential" in fields) this.checkEgress();
  }

  /** Warn about addresses in the step's body or credential that runs may not reach. */
  loadEgressWarnings() {
    if (!this.current || Model.parse(this.current).kind !== "job") return;
    const job = this.model.item(this.current);
    if (!job) return;
    window.htmx.ajax("POST", this.data.urls.egress_warnings, { target: "#step-egress", values: { body: job.body || "", credential: job.credential || "" } });
  }

  show(id) {
    // Another element's panel starts at its top, not where the last one was scrolled to.
    if (id !== this.current && $("panel-edit").classList.contains("active")) document.querySelector(".studio-side").scrollTop = 0;
    this.current = id;
    const kind = id ? Model.parse(id).kind : null;
    $("panel-none").hidden = Boolean(kind);
    this.retries.show(kind); // nothing selected: the workflow's own settings
    $("step-panel").hidden = kind !== "job";
    $("trigger-panel").hidden = kind !== "trigger";
    $("edge-panel").hidden = kind !== "edge";
    document.querySelectorAll(".studio-panels [data-error-for]").forEach((el) => { el.textContent = ""; });
    document.querySelectorAll(".studio-panels .is-invalid").forEach((el) => el.classList.remove("is-invalid"));
    if (kind === "job") this.fillStep(id);
    if (kind === "trigger") this.fillTrigger(id);
    if (kind === "edge") this.fillEdge(id);
  }

  /** Show validation messages that concern the element in the panel next to their field. */
  showProblems(problems) {
    if (!this.current) return this.retries.showProblems(problems);
    const panel = { job: "step-panel", trigger: "trigger-panel", edge: "edge-panel" }[Model.parse(this.current).kind];
    $(panel).querySelectorAll("[data-error-for]").forEach((el) => {
      el.textContent = "";
      el.classList.remove("d-block");
    });
    $(panel).querySelectorAll(".is-invalid").forEach((el) => el.classList.remove("is-invalid"));
    for (const problem of problems) {
      const target = Model.elementOf(problem.path);
      if (!target || target.id !== this.current || !target.field) continue;
      const slot = $(panel).querySelector(`[data-error-for="${target.field}"]`);
      if (!slot) continue;
      slot.textContent = problem.message;
      slot.classList.add("d-block");
      const input = slot.previousElementSibling;
      if (input && input.classList.contains("form-control")) input.classList.add("is-invalid");
      else if (input && input.classList.contains("form-select")) input.classList.add("is-invalid");
      else if (input && input.tagName === "TEXTAREA") input.classList.add("is-invalid");
    }
    this.retries.showProblems(problems); // after the clearing above, which also clears its marks
  }

  // --- steps -------------------------------------------------------------------------------
  bindStep() {
    $("step-name").addEventListener("input", (e) => this.set({ name: e.target.value }));
    $("step-adaptor").addEventListener("change", () => { this.fillVersions(); this.writeAdaptor(); });
    $("step-version").addEventListener("change", () => this.writeAdaptor());
    $("step-credential").addEventListener("change", (e) => {
      if (e.target.name === "step-credential") this.set({ credential: e.target.value || null });
    });
  }

  writeAdaptor() {
    const name = $("step-adaptor").value;
    this.set({ adaptor: name ? `${name}@${$("step-version").value}` : "" });
    this.loadDocs(name);
  }

  adaptorSpec(name) {
    return this.data.adaptors.find((a) => a.name === name);
  }

  fillVersions(selected = null) {
    const spec = this.adaptorSpec($("step-adaptor").value);
    const select = $("step-version");
    select.replaceChildren();
    const versions = spec ? [...spec.versions] : [];
    if (selected && !versions.includes(selected)) versions.unshift(selected);
    for (const version of versions) {
      const label = version === "latest" ? "latest" : spec && version === spec.versions[0] ? `${version} (${spec.version})` : version;
      select.add(new Option(label, version, false, version === selected));
    }
  }

  fillStep(id) {
    const job = this.model.item(id);
    $("step-key").textContent = Model.parse(id).key;
    $("step-name").value = job.name || "";
    const [name, version] = (job.adaptor || "").split("@");
    $("step-adaptor").value = this.adaptorSpec(name) ? name : "";
    this.fillVersions(version || null);
    this.fillCredential(job.credential || "");
    setText(this.body, job.body || "");
    this.loadDocs($("step-adaptor").value);
    $("step-egress").replaceChildren();
    this.loadEgressWarnings();
    this.retries.fillStep(job);
  }

  /** Tick the step's credential; one no longer shared into the project is listed, marked. */
  fillCredential(name) {
    const group = $("step-credential");
    group.querySelectorAll("[data-missing]").forEach((el) => el.remove());
    let radio = [...group.querySelectorAll("input[name=step-credential]")].find((r) => r.value === name);
    if (!radio) {
      const item = $("step-credential-missing").content.firstElementChild.cloneNode(true);
      item.querySelector("[data-name]").textContent = name;
      radio = item.querySelector("input");
      radio.value = name;
      group.querySelector(".list-group").append(item);
    }
    radio.checked = true;
  }

  /** The adaptor's docs, and for editors the request builder's toolbar for it. */
  loadDocs(name) {
    window.htmx.ajax("GET", this.data.urls.adaptor_docs, { target: "#adaptor-docs", values: { adaptor: name } });
  }

  // --- triggers ----------------------------------------------------------------------------
  bindTrigger() {
    $("trigger-enabled").addEventListener("change", (e) => this.set({ enabled: e.target.checked }));
    $("webhook-reply").addEventListener("change", (e) => this.set({ webhook_reply: e.target.value }));
    $("webhook-path").addEventListener("input", (e) => this.set({ custom_path: e.target.value.trim() || undefined }));
    $("webhook-rate").addEventListener("input", (e) => {
      // A whole number the server can judge; anything else is sent as typed, to be named.
      const typed = e.target.value.trim();
      const number = Number(typed);
      this.set({ webhook_requests_per_minute: typed === "" ? undefined : Number.isInteger(number) ? number : typed });
    });
    $("cron-expression").addEventListener("input", (e) => {
      this.set({ cron_expression: e.target.value });
      this.syncPreset(e.target.value);
    });
    $("cron-timezone").addEventListener("input", (e) => { this.set({ cron_timezone: e.target.value.trim() || "UTC" }); this.preview(); });
    for (const id of ["cron-preset", "cron-time", "cron-weekday"]) $(id).addEventListener("change", () => this.applyPreset());
    $("cron-input").addEventListener("change", () => this.writeCronInput());
    $("cron-input-job").addEventListener("change", () => this.writeCronInput());
  }

  fillTrigger(id) {
    const trigger = this.model.item(id);
    const { key } = Model.parse(id);
    $("trigger-key").textContent = key;
    $("trigger-kind").textContent = trigger.type === "cron" ? "Schedule trigger" : "Webhook trigger";
    $("trigger-enabled").checked = trigger.enabled !== false;
    document.querySelectorAll("[data-trigger-kind]").forEach((el) => { el.hidden = el.dataset.triggerKind !== trigger.type; });
    const saved = this.data.triggers[key];
    if (trigger.type === "webhook") {
      const url = saved && saved.type === "webhook" ? saved.url : "";
      $("webhook-url").value = url || "Save the workflow to get this trigger's URL";
      $("webhook-url").disabled = !url;
      $("webhook-reply").value = trigger.webhook_reply || "before_start";
      $("webhook-path").value = trigger.custom_path || "";
      $("webhook-rate").value = trigger.webhook_requests_per_minute ?? "";
      // Admins see how callers authenticate now, as saved (or that the trigger is unsaved).
      if ($("webhook-auth")) window.htmx.ajax("GET", this.data.urls.webhook_auth, { target: "#webhook-auth", values: { trigger: key } });
      this.signature.fill(trigger, key);
    } else {
      $("cron-expression").value = trigger.cron_expression || "";
      $("cron-timezone").value = trigger.cron_timezone || "UTC";
      this.syncPreset(trigger.cron_expression || "");
      $("cron-input").value = trigger.cron_input || "last_success";
      this.fillCronJobs(trigger.cron_input_job);
      this.preview();
      this.loadNextInput();
    }
  }

  syncPreset(expression) {
    const text = expression.trim();
    let preset = "custom";
    let match;
    if (PRESETS.hourly.test(text)) preset = "hourly";
    else if ((match = text.match(PRESETS.daily))) preset = "daily";
    else if ((match = text.match(PRESETS.weekly))) preset = "weekly";
    if (match && (Number(match[1]) > 59 || Number(match[2]) > 23)) {
      preset = "custom"; // looks like a preset but is not a valid time
      match = null;
    }
    $("cron-preset").value = preset;
    if (match) {
      $("cron-time").value = `${match[2].padStart(2, "0")}:${match[1].padStart(2, "0")}`;
      if (preset === "weekly") $("cron-weekday").value = match[3];
    }
    this.showPresetFields(preset);
  }

  showPresetFields(preset) {
    document.querySelectorAll("[data-preset-field]").forEach((el) => { el.hidden = !el.dataset.presetField.split(" ").includes(preset); });
  }

  applyPreset() {
    const preset = $("cron-preset").value;
    this.showPresetFields(preset);
    if (preset === "custom") { $("cron-expression").focus(); return; }
    const [hour, minute] = ($("cron-time").value || "02:00").split(":").map(Number);
    const expression = { hourly: "0 * * * *", daily: `${minute} ${hour} * * *`, weekly: `${minute} ${hour} * * ${$("cron-weekday").value}` }[preset];
    $("cron-expression").value = expression;
    this.set({ cron_expression: expression });
    this.preview();
  }

  preview() {
    if (window.htmx) window.htmx.trigger($("cron-expression"), "studio:cron");
  }

  fillCronJobs(selected) {
    const select = $("cron-input-job");
    select.replaceChildren();
    for (const [key, job] of Object.entries(this.model.doc.jobs)) select.add(new Option(job.name || key, key, false, key === selected));
    select.hidden = $("cron-input").value !== "step_output";
  }

  writeCronInput() {
    const value = $("cron-input").value;
    $("cron-input-job").hidden = value !== "step_output";
    this.set({ cron_input: value, cron_input_job: value === "step_output" ? $("cron-input-job").value || undefined : undefined });
    this.loadNextInput();
  }

  /** Which stored state the next scheduled run would start from, for the choice shown. */
  loadNextInput() {
    const box = $("cron-next-input");
    if (!box || !window.htmx) return;
    const value = $("cron-input").value;
    const values = { cron_input: value };
    if (value === "step_output" && $("cron-input-job").value) values.cron_input_job = $("cron-input-job").value;
    window.htmx.ajax("GET", box.dataset.url, { target: box, values });
  }

  // --- edges -------------------------------------------------------------------------------
  bindEdge() {
    $("edge-condition").addEventListener("change", (e) => {
      const expression = e.target.value === "expression";
      $("edge-expression-box").hidden = !expression;
      this.set({ condition_type: e.target.value, condition_expression: expression ? $("edge-expression").value : undefined });
    });
    $("edge-expression").addEventListener("input", (e) => this.set({ condition_expression: e.target.value }));
    $("edge-label").addEventListener("input", (e) => this.set({ condition_label: e.target.value.trim() || undefined }));
    $("edge-enabled").addEventListener("change", (e) => this.set({ enabled: e.target.checked }));
  }

  fillEdge(id) {
    const edge = this.model.item(id);
    const ends = this.model.edgeEnds(Model.parse(id).key);
    const name = (nodeId) => {
      const item = this.model.item(nodeId);
      return Model.parse(nodeId).kind === "trigger" ? `${item.type} trigger` : item.name || Model.parse(nodeId).key;
    };
    $("edge-ends").textContent = `${name(ends.source)} → ${name(ends.target)}`;
    const fromTrigger = Model.parse(ends.source).kind === "trigger";
    for (const option of $("edge-condition").options) option.disabled = fromTrigger && option.value !== "always" && option.value !== "expression";
    $("edge-condition").value = edge.condition_type || "always";
    $("edge-expression-box").hidden = edge.condition_type !== "expression";
    $("edge-expression").value = edge.condition_expression || "";
    $("edge-label").value = edge.condition_label || "";
    $("edge-enabled").checked = edge.enabled !== false;
  }
}
