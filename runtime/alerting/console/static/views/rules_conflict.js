// @ts-check
/**
 * A stale edit of a rule: someone saved it after this page read it. The operator sees
 * what they typed next to the rule as it is now, field by field, and chooses: take the
 * current values (and edit again from there), or apply theirs on top of the current
 * version (a new PATCH carrying that version). Nothing is overwritten without a choice.
 */
import { html } from "../lib/html.js";
import { Badge, Time } from "../lib/ui.js";
import { Pattern } from "./rules_fields.js";

/** @typedef {import("./rules_page.js").Draft} Draft */
/** @typedef {import("./rules_page.js").Rule} Rule */

/**
 * @param {{mine: Draft, current: Rule, busy: boolean, onUseCurrent: () => void, onApplyMine: () => void}} props
 */
export function Conflict({ mine, current, busy, onUseCurrent, onApplyMine }) {
  const fields = /** @type {(keyof Draft)[]} */ (["severity", "source", "name"]);
  return html`<section class="conflict" role="alert" aria-labelledby="conflict-h">
    <h2 id="conflict-h">Someone changed this rule since you opened it</h2>
    <p>Your edit was not saved: the rule is now at version ${current.version}
      (updated <${Time} iso=${current.updated_at} />). Compare and choose.</p>
    <table aria-label="Your values and the current values">
      <thead><tr><th scope="col">Field</th><th scope="col">Yours</th><th scope="col">Current</th></tr></thead>
      <tbody>
        ${fields.map((f) => html`<tr class=${mine[f] === current[f] ? "" : "differs"}>
          <th scope="row">${f}</th>
          <td data-testid=${`mine-${f}`}><${Pattern} value=${mine[f]} /></td>
          <td data-testid=${`current-${f}`}><${Pattern} value=${current[f]} /></td>
        </tr>`)}
        <tr>
          <th scope="row">enabled</th>
          <td class="muted">(unchanged by your edit)</td>
          <td data-testid="current-enabled"><${Badge} value=${current.enabled ? "enabled" : "disabled"} /></td>
        </tr>
      </tbody>
    </table>
    <div class="actions">
      <button type="button" class="secondary" disabled=${busy} onClick=${onUseCurrent}>Use current values</button>
      <button type="button" disabled=${busy} onClick=${onApplyMine}>Apply mine on top of current</button>
    </div>
  </section>`;
}
