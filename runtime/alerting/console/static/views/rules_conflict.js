// @ts-check
/**
 * A stale edit of a rule: someone saved it after this page read it. The operator sees
 * what they typed next to the rule as it is now, field by field, and chooses: take the
 * current values (and edit again from there), or apply their changes on top of the
 * current version (a new PATCH carrying that version: the fields they changed take
 * their value, the fields they left alone keep the other person's). Nothing is
 * overwritten without a choice.
 */
import { html } from "../lib/html.js";
import { Badge, Time } from "../lib/ui.js";
import { Pattern } from "./rules_fields.js";

/** @typedef {import("./rules_page.js").Draft} Draft */
/** @typedef {import("./rules_page.js").Rule} Rule */

const FIELDS = /** @type {(keyof Draft)[]} */ (["severity", "source", "name"]);

/**
 * The operator's changes (what differs from the values the edit started from) applied
 * to the current values.
 * @param {Draft} base @param {Draft} mine @param {Draft} current
 * @returns {Draft}
 */
export function onTop(base, mine, current) {
  const out = { ...current };
  for (const f of FIELDS) if (mine[f] !== base[f]) out[f] = mine[f];
  return out;
}

/**
 * @param {{base: Draft, mine: Draft, current: Rule, busy: boolean, onUseCurrent: () => void, onApplyMine: () => void}} props
 */
export function Conflict({ base, mine, current, busy, onUseCurrent, onApplyMine }) {
  const merged = onTop(base, mine, current);
  return html`<section class="conflict" role="alert" aria-labelledby="conflict-h">
    <h2 id="conflict-h">Someone changed this rule since you opened it</h2>
    <p>Your edit was not saved: the rule is now at version ${current.version} (updated${" "}
      <${Time} iso=${current.updated_at} />). Compare and choose.</p>
    <table aria-label="Your values and the current values">
      <thead><tr>
        <th scope="col">Field</th><th scope="col">Yours</th><th scope="col">Current</th>
        <th scope="col">Yours on top of current</th>
      </tr></thead>
      <tbody>
        ${FIELDS.map((f) => html`<tr class=${mine[f] === current[f] ? "" : "differs"}>
          <th scope="row">${f}</th>
          <td data-testid=${`mine-${f}`}><${Pattern} value=${mine[f]} />${mine[f] === base[f] ? null : html` <span class="hint">(changed)</span>`}</td>
          <td data-testid=${`current-${f}`}><${Pattern} value=${current[f]} /></td>
          <td data-testid=${`merged-${f}`}><${Pattern} value=${merged[f]} /></td>
        </tr>`)}
        <tr>
          <th scope="row">enabled</th>
          <td class="muted">(not part of the edit)</td>
          <td data-testid="current-enabled"><${Badge} value=${current.enabled ? "enabled" : "disabled"} /></td>
          <td class="muted">(stays as current)</td>
        </tr>
      </tbody>
    </table>
    <div class="actions">
      <button type="button" class="secondary" disabled=${busy} onClick=${onUseCurrent}>Use current values</button>
      <button type="button" disabled=${busy} onClick=${onApplyMine}>Apply mine on top of current</button>
    </div>
  </section>`;
}
