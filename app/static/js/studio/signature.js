// "Require a signature" in the webhook trigger panel: writes the webhook_signature_* keys of
// the trigger's document entry (app/services/triggers/webhook_signature_settings.py reads
// them) and shows, in one line, exactly what the sender must sign. The secret is not part
// of the document: admins set it in the box loaded from the server.
import { $ } from "./util.js";

const KEYS = ["webhook_signature_algorithm", "webhook_signature_header", "webhook_timestamp_header", "webhook_replay_window_s"];

export class Signature {
  /** `set(fields)` writes to the trigger in the panel; only admins may change the rule. */
  constructor(set, canAdmin) {
    this.set = set;
    this.canAdmin = canAdmin;
    this.inputs = ["webhook-signature-algorithm", "webhook-signature-header", "webhook-timestamp-header", "webhook-replay-window"].map($);
    for (const input of this.inputs) {
      input.disabled = !canAdmin;
      input.addEventListener("input", () => this.write());
    }
  }

  /** Show the trigger's rule; admins get its secret box for the saved trigger `key`. */
  fill(trigger, key) {
    const [algorithm, header, stamp, replay] = this.inputs;
    algorithm.value = trigger.webhook_signature_algorithm || "";
    header.value = trigger.webhook_signature_header || "";
    stamp.value = trigger.webhook_timestamp_header || "";
    replay.value = trigger.webhook_signature_algorithm ? trigger.webhook_replay_window_s || 300 : "";
    this.describe();
    this.loadSecretBox(key);
  }

  /** Load the secret box for the saved trigger `key`, once. */
  loadSecretBox(key) {
    const box = $("webhook-signature-secret-box");
    if (!box || !globalThis.htmx) return;
    if (this.loading) {
      // A load is on its way (perhaps asked before a save finished): look again once it
      // lands, rather than send a second one whose answer could arrive after a click on
      // the first one's button and wipe a secret just made.
      this.again = key;
      return;
    }
    // Once loaded for this saved trigger, the box stays: reloading it on every re-show would
    // drop a secret just made (shown once) and race a click on its button.
    if (this.loadedKey === key && box.querySelector("#webhook-signature-secret-form")) return;
    this.loadedKey = key;
    this.loading = Promise.resolve(
      globalThis.htmx.ajax("GET", box.dataset.url, { target: box, values: { trigger: key } }),
    ).finally(() => {
      this.loading = null;
      const again = this.again;
      this.again = null;
      if (again) this.loadSecretBox(again);
    });
  }

  write() {
    const [algorithm, header, stamp, replay] = this.inputs.map((input) => input.value.trim());
    const fields = Object.fromEntries(KEYS.map((k) => [k, undefined]));
    if (algorithm) {
      const seconds = Number(replay);
      Object.assign(fields, {
        webhook_signature_algorithm: algorithm,
        webhook_signature_header: header || undefined,
        webhook_timestamp_header: stamp || undefined,
        // A number the server can judge; what is not one is sent as typed, to be named.
        webhook_replay_window_s: replay === "" ? 300 : Number.isInteger(seconds) ? seconds : replay,
      });
      if (!replay) this.inputs[3].value = 300;
    }
    this.set(fields);
    this.describe();
  }

  /** The scheme for the sender, e.g. X-Signature: hex of HMAC-SHA256(secret, X-Timestamp + "." + body). */
  describe() {
    const [algorithm, header, stamp] = this.inputs.map((input) => input.value.trim());
    $("webhook-signature-fields").hidden = !algorithm;
    if (!algorithm) return;
    const signed = stamp ? `the ${stamp} value + "." + the raw body` : "the raw body";
    $("webhook-signature-scheme").textContent =
      `The sender puts HMAC-${algorithm.toUpperCase()}(secret, ${signed}) in the ${header || "signature"} header.`;
  }
}
