// Retries in the side panel: a step's own policy (or "never retry this step", or the
// workflow's default) and the workflow's default, written to the document as `retry_policy`
// (app/services/workflows/retries.py reads it), each with a one-sentence summary.
import { $ } from "./util.js";

const NUMBERS = ["max_attempts", "initial_delay_s", "factor", "max_delay_s", "jitter"];
const KIND_WORDS = { connection: "a connection error", timeout: "a timeout", http_429: "HTTP 429", http_5xx: "HTTP 5xx" };

/** A duration in words: "5 s", "1.5 s", "2 min", "1 min 30 s", "2 h 5 min". */
export function duration(seconds) {
  const s = Math.round(seconds * 10) / 10;
  if (s < 60) return `${s} s`;
  const total = Math.round(s);
  const [h, m, rest] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  if (h) return m ? `${h} h ${m} min` : `${h} h`;
  return rest ? `${m} min ${rest} s` : `${m} min`;
}

function list(words) {
  return words.length < 2 ? words.join("") : `${words.slice(0, -1).join(", ")} or ${words[words.length - 1]}`;
}

/** A policy in one sentence, e.g. "Retries up to 2 times (3 attempts in all), waiting 5 s,
 * then 10 s (±10%), after a connection error, a timeout, HTTP 429 or HTTP 5xx." */
export function describe(policy) {
  if (!policy || policy.max_attempts <= 1) return "No retries: the first failed attempt fails the step.";
  const retries = policy.max_attempts - 1;
  const waits = [];
  for (let n = 0; n < retries; n += 1) waits.push(Math.min(policy.initial_delay_s * policy.factor ** n, policy.max_delay_s));
  let shown = waits.map(duration);
  if (shown.length > 4) shown = [...shown.slice(0, 3), `… ${shown[shown.length - 1]}`];
  const spread = policy.jitter > 0 ? ` (±${Math.round(policy.jitter * 100)}%)` : "";
  const times = retries === 1 ? "once" : `up to ${retries} times`;
  const kinds = list((policy.retry_on || []).map((k) => KIND_WORDS[k] || k));
  return `Retries ${times} (${policy.max_attempts} attempts in all), waiting ${shown.join(", then ")}${spread}, after ${kinds}.`;
}

/** True when every number and at least one failure kind is filled in and in range. */
function complete(policy, settings) {
  const ok = (v, low, high) => typeof v === "number" && Number.isFinite(v) && v >= low && v <= high;
  return ok(policy.max_attempts, 1, settings.max_attempts) && Number.isInteger(policy.max_attempts)
    && ok(policy.initial_delay_s, 0.1, settings.max_delay_s) && ok(policy.factor, 1, 10)
    && ok(policy.max_delay_s, policy.initial_delay_s, settings.max_delay_s) && ok(policy.jitter, 0, 1)
    && policy.retry_on.length > 0;
}

/** One set of retry settings (`prefix` "step" or "workflow", as in _retry_fields.html). */
class RetryForm {
  constructor(prefix, settings, onInput) {
    this.prefix = prefix;
    this.settings = settings;
    this.box = $(`${prefix}-retry-settings`);
    this.box.addEventListener("input", onInput);
  }

  field(key) {
    return $(`${this.prefix}-retry-${key}`);
  }

  fill(policy) {
    const p = { ...this.settings.defaults, ...(policy || {}) };
    for (const key of NUMBERS) this.field(key).value = key === "jitter" ? Math.round(p.jitter * 1000) / 10 : p[key];
    this.box.querySelectorAll("[data-retry-kind]").forEach((box) => { box.checked = p.retry_on.includes(box.dataset.retryKind); });
  }

  /** The policy as typed: an empty or unreadable number is sent as null, so the server names it. */
  read() {
    const policy = {};
    for (const key of NUMBERS) {
      const text = this.field(key).value.trim();
      const number = text === "" ? NaN : Number(text);
      policy[key] = Number.isFinite(number) ? (key === "jitter" ? number / 100 : number) : null;
    }
    policy.retry_on = [...this.box.querySelectorAll("[data-retry-kind]:checked")].map((box) => box.dataset.retryKind);
    return policy;
  }

  /** The server's message in the words of the form (its labels, not the document's keys). */
  words(key, message) {
    if (key === "jitter") return "Jitter is a percentage from 0 to 100.";
    if (key === "retry_on" && message.includes("at least one")) return "Tick at least one kind of failure to retry after.";
    const label = this.field(key) && this.field(key).labels[0];
    return label && message.startsWith(`${key} `) ? `${label.textContent} ${message.slice(key.length + 1)}` : message;
  }

  /** Mark the fields that `problems` (already for this policy, path relative to it) name. */
  showProblems(section, problems) {
    section.querySelectorAll("[data-retry-error]").forEach((slot) => { slot.textContent = ""; slot.classList.remove("d-block"); });
    section.querySelectorAll(".is-invalid").forEach((el) => el.classList.remove("is-invalid"));
    for (const { key, message } of problems) {
      const slot = section.querySelector(`[data-retry-error="${key}"]`) || section.querySelector('[data-retry-error=""]');
      slot.textContent = this.words(key, message);
      slot.classList.add("d-block");
      if (this.field(key)) this.field(key).classList.add("is-invalid");
    }
  }
}

/** Problems whose path is `base` or inside it, as {key, message} ("" for the policy itself). */
function under(problems, base) {
  return problems
    .filter((p) => p.path === base || p.path.startsWith(`${base}.`))
    .map((p) => ({ key: p.path.slice(base.length + 1), message: p.message }));
}

export class Retries {
  /** `current()` is the canvas id in the panel ("job:fetch") or null. */
  constructor(model, settings, current) {
    this.model = model;
    this.settings = settings;
    this.current = current;
    this.step = new RetryForm("step", settings, () => this.writeStep());
    this.flow = new RetryForm("workflow", settings, () => this.writeWorkflow());
    $("step-retry-on").addEventListener("change", () => this.writeStep(true));
    $("step-retry-never").addEventListener("change", () => this.writeStep());
    $("workflow-retry-on").addEventListener("change", () => this.writeWorkflow(true));
    this.show(null); // the page opens with nothing selected
  }

  /** The workflow's default policy as the document holds it, or null for none. */
  defaultPolicy() {
    const p = this.model.doc.retry_policy;
    return p && p.max_attempts !== 1 ? p : null;
  }

  // --- a step ------------------------------------------------------------------------------
  fillStep(job) {
    const own = job.retry_policy || null;
    const on = Boolean(own) && own.max_attempts !== 1;
    $("step-retry-on").checked = on;
    $("step-retry-never").checked = Boolean(own) && own.max_attempts === 1;
    this.step.fill(on ? own : this.defaultPolicy());
    this.showStep();
  }

  writeStep(switched = false) {
    const id = this.current();
    if (!id) return;
    const on = $("step-retry-on").checked;
    if (switched && on) {
      $("step-retry-never").checked = false;
      this.step.fill(this.defaultPolicy()); // start from the default the step had
    }
    let value;
    if (on) value = this.step.read();
    else if ($("step-retry-never").checked) value = { max_attempts: 1 };
    this.model.update(id, { retry_policy: value });
    this.showStep();
  }

  showStep() {
    const on = $("step-retry-on").checked;
    const never = $("step-retry-never").checked;
    const fallback = this.defaultPolicy();
    $("step-retry-settings").hidden = !on;
    $("step-retry-never-box").hidden = on || (!fallback && !never);
    let words;
    if (on) {
      const policy = this.step.read();
      words = complete(policy, this.settings) ? describe(policy) : "Fill in every setting to see how this step is retried.";
    } else if (never) {
      words = "Never retried: the first failed attempt fails the step.";
    } else if (fallback) {
      words = `The workflow's default applies. ${describe(fallback)}`;
    } else {
      words = "Off: the first failed attempt fails the step.";
    }
    $("step-retry-summary").textContent = words;
  }

  // --- the workflow --------------------------------------------------------------------------
  /** The workflow panel is the side panel's content while nothing is selected. */
  show(kind) {
    $("workflow-panel").hidden = Boolean(kind);
    if (!kind) this.fillWorkflow();
  }

  fillWorkflow() {
    const policy = this.defaultPolicy();
    $("workflow-retry-on").checked = Boolean(policy);
    this.flow.fill(policy);
    this.showWorkflow();
  }

  writeWorkflow(switched = false) {
    if (switched && $("workflow-retry-on").checked) this.flow.fill(null);
    if ($("workflow-retry-on").checked) this.model.doc.retry_policy = this.flow.read();
    else delete this.model.doc.retry_policy;
    this.model.changed("fields");
    this.showWorkflow();
  }

  showWorkflow() {
    const on = $("workflow-retry-on").checked;
    $("workflow-retry-settings").hidden = !on;
    const policy = this.flow.read();
    let words = "Off: steps without retries of their own are not retried.";
    if (on) words = complete(policy, this.settings) ? `${describe(policy)} Steps with their own retries use those.` : "Fill in every setting to see how steps are retried.";
    $("workflow-retry-summary").textContent = words;
  }

  /** Show the problems of the policy in the panel next to their fields. */
  showProblems(problems) {
    this.flow.showProblems($("workflow-retries"), under(problems, "retry_policy"));
    const id = this.current();
    const key = id && id.startsWith("job:") ? id.slice(4) : null;
    this.step.showProblems($("step-retries"), key === null ? [] : under(problems, `jobs.${key}.retry_policy`));
  }
}
