// The canvas state: the workflow document (the YAML format as JSON) plus node positions.
// Every change goes through here, so the canvas, the panels and saving see one truth.

const KEY_PATTERN = /[^A-Za-z0-9_.-]+/g;

export class Model {
  constructor(document, positions) {
    this.load(document, positions);
    this.listeners = [];
  }

  load(document, positions) {
    const doc = structuredClone(document || {});
    doc.triggers = doc.triggers || {};
    doc.jobs = doc.jobs || {};
    doc.edges = doc.edges || {};
    this.doc = doc;
    this.positions = { ...(positions || {}) };
  }

  onChange(listener) {
    this.listeners.push(listener);
  }

  changed(kind = "graph") {
    this.listeners.forEach((listener) => listener(kind));
  }

  static nodeId(kind, key) {
    return `${kind}:${key}`;
  }

  static parse(id) {
    const at = id.indexOf(":");
    return { kind: id.slice(0, at), key: id.slice(at + 1) };
  }

  uniqueKey(base, taken) {
    const clean = (base || "step").toLowerCase().replace(KEY_PATTERN, "-").replace(/^-+|-+$/g, "") || "step";
    let key = clean;
    for (let n = 2; key in taken; n += 1) key = `${clean}-${n}`;
    return key;
  }

  addTrigger(type) {
    const key = this.uniqueKey(type, this.doc.triggers);
    this.doc.triggers[key] =
      type === "webhook"
        ? { type: "webhook", enabled: true, webhook_reply: "before_start" }
        : { type: "cron", enabled: true, cron_expression: "0 * * * *", cron_timezone: "UTC", cron_input: "last_success" };
    this.changed();
    return Model.nodeId("trigger", key);
  }

  addStep(afterId = null, position = null) {
    const count = Object.keys(this.doc.jobs).length + 1;
    const key = this.uniqueKey(`step-${count}`, this.doc.jobs);
    this.doc.jobs[key] = { name: `Step ${count}`, adaptor: "", credential: null, body: "" };
    const id = Model.nodeId("job", key);
    if (position) this.positions[id] = position;
    if (afterId) this.connect(afterId, id, false);
    this.changed();
    return id;
  }

  /** Why source cannot connect to target, or null when it can. */
  connectProblem(sourceId, targetId) {
    const source = Model.parse(sourceId);
    const target = Model.parse(targetId);
    if (target.kind !== "job") return "An edge must end at a step.";
    if (sourceId === targetId) return "A step cannot lead to itself.";
    const exists = Object.values(this.doc.edges).some(
      (e) => e.target_job === target.key && (e.source_job === source.key && source.kind === "job" || e.source_trigger === source.key && source.kind === "trigger"),
    );
    return exists ? "These two are already connected." : null;
  }

  connect(sourceId, targetId, notify = true) {
    const problem = this.connectProblem(sourceId, targetId);
    if (problem) return { problem };
    const source = Model.parse(sourceId);
    const target = Model.parse(targetId);
    const key = this.uniqueKey(`${source.key}->${target.key}`, this.doc.edges);
    const edge = source.kind === "trigger" ? { source_trigger: source.key } : { source_job: source.key };
    Object.assign(edge, {
      target_job: target.key,
      condition_type: source.kind === "trigger" ? "always" : "on_job_success",
      enabled: true,
    });
    // uniqueKey lower-cases and cleans; edge keys keep the readable "a->b" form when free.
    const readable = `${source.key}->${target.key}`;
    const chosen = readable in this.doc.edges ? key : readable;
    this.doc.edges[chosen] = edge;
    if (notify) this.changed();
    return { key: chosen };
  }

  remove(id) {
    const { kind, key } = Model.parse(id);
    if (kind === "edge") {
      delete this.doc.edges[key];
    } else {
      const table = kind === "job" ? this.doc.jobs : this.doc.triggers;
      delete table[key];
      delete this.positions[id];
      for (const [edgeKey, e] of Object.entries(this.doc.edges)) {
        const touches = kind === "job" ? e.source_job === key || e.target_job === key : e.source_trigger === key;
        if (touches) delete this.doc.edges[edgeKey];
      }
      if (kind === "job") {
        for (const trigger of Object.values(this.doc.triggers)) {
          if (trigger.cron_input_job === key) {
            delete trigger.cron_input_job;
            trigger.cron_input = "last_success";
          }
        }
      }
    }
    this.changed();
  }

  /** The document entry behind a node or edge id. */
  item(id) {
    const { kind, key } = Model.parse(id);
    const table = { job: this.doc.jobs, trigger: this.doc.triggers, edge: this.doc.edges }[kind];
    return table ? table[key] : undefined;
  }

  update(id, fields, kind = "fields") {
    const item = this.item(id);
    if (!item) return;
    for (const [name, value] of Object.entries(fields)) {
      if (value === undefined) delete item[name];
      else item[name] = value;
    }
    this.changed(kind);
  }

  edgeEnds(key) {
    const e = this.doc.edges[key];
    const source = e.source_trigger !== undefined && e.source_trigger !== null
      ? Model.nodeId("trigger", e.source_trigger)
      : Model.nodeId("job", e.source_job);
    return { source, target: Model.nodeId("job", e.target_job) };
  }

  setPosition(id, x, y) {
    this.positions[id] = { x: Math.round(x), y: Math.round(y) };
    this.changed("position");
  }

  /** The path of a validation problem (jobs.load.adaptor) as a canvas id and field. */
  static elementOf(path) {
    const [section, key, field] = (path || "").split(".");
    const kind = { jobs: "job", triggers: "trigger", edges: "edge" }[section];
    if (!kind || key === undefined) return null;
    // Edge keys may contain dots; everything after the last known field name is the field.
    if (kind === "edge") {
      const rest = path.slice("edges.".length);
      const match = rest.match(/^(.*?)(?:\.(condition_expression|condition_type|target_job|source_job|source_trigger|enabled|condition_label))?$/);
      return { id: Model.nodeId("edge", match[1]), field: match[2] || null };
    }
    return { id: Model.nodeId(kind, key), field: field || null };
  }
}
