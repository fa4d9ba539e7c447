// Which validation problems the builder shows now. A step, trigger or edge added since the
// last save starts calm: a problem with one of its fields ("This step needs an adaptor")
// shows once the user has left that field, or once they try to save; until then a new step
// is not red before anyone touched it. Problems of what was saved, and problems of an element
// as a whole (an edge that makes a cycle), show at once.
import { Model } from "./model.js";

// The panel inputs behind each document field (an input's closest element with one of these
// ids decides); other inputs in the panels (the request builder's form, the docs) count for
// no field.
const FIELDS = {
  "step-name": "name",
  "step-adaptor": "adaptor",
  "step-version": "adaptor",
  "step-credential": "credential",
  "step-body-editor": "body",
  "step-retries": "retry_policy",
  "trigger-enabled": "enabled",
  "webhook-reply": "webhook_reply",
  "webhook-path": "custom_path",
  "webhook-rate": "webhook_requests_per_minute",
  "webhook-signature-algorithm": "webhook_signature_algorithm",
  "webhook-signature-header": "webhook_signature_header",
  "webhook-timestamp-header": "webhook_timestamp_header",
  "webhook-replay-window": "webhook_replay_window_s",
  "cron-preset": "cron_expression",
  "cron-time": "cron_expression",
  "cron-weekday": "cron_expression",
  "cron-expression": "cron_expression",
  "cron-timezone": "cron_timezone",
  "cron-input": "cron_input",
  "cron-input-job": "cron_input_job",
  "edge-condition": "condition_type",
  "edge-expression": "condition_expression",
  "edge-label": "condition_label",
  "edge-enabled": "enabled",
};
const SELECTOR = Object.keys(FIELDS).map((id) => `#${id}`).join(", ");

export class Validation {
  /** `panels` (studio/panels.js) says which element its fields edit; `onChange` re-shows
   * the problems when what may be shown changed. */
  constructor(model, panels, root, onChange) {
    this.model = model;
    this.onChange = onChange;
    this.attempted = false;
    this.left = new Set(); // "<element id> <field>"
    this.known = new Set();
    this.settle();
    let editing = null; // the element whose field has the focus (the panel may switch first)
    root.addEventListener("focusin", () => { editing = panels.current; });
    const leave = (event) => this.leave(editing || panels.current, event.target);
    root.addEventListener("focusout", leave);
    root.addEventListener("change", leave); // a choice made in a list or radio counts too
  }

  /** Everything on the canvas now counts as saved: new elements start calm again. */
  settle() {
    const { doc } = this.model;
    this.known = new Set([
      ...Object.keys(doc.triggers).map((k) => Model.nodeId("trigger", k)),
      ...Object.keys(doc.jobs).map((k) => Model.nodeId("job", k)),
      ...Object.keys(doc.edges).map((k) => Model.nodeId("edge", k)),
    ]);
    this.left.clear();
    this.attempted = false;
  }

  leave(id, input) {
    if (!id || !input || !input.closest) return;
    const owner = input.closest(SELECTOR);
    if (!owner) return;
    const mark = `${id} ${FIELDS[owner.id]}`;
    if (this.left.has(mark)) return;
    this.left.add(mark);
    this.onChange();
  }

  /** The user asked to save: every problem shows from now until the next successful save. */
  attempt() {
    if (this.attempted) return;
    this.attempted = true;
    this.onChange();
  }

  /** The problems to show now, out of every problem of the document. */
  visible(problems) {
    if (this.attempted) return problems;
    return problems.filter((problem) => {
      const target = Model.elementOf(problem.path);
      if (!target || !target.field || this.known.has(target.id)) return true;
      return this.left.has(`${target.id} ${target.field}`);
    });
  }
}
