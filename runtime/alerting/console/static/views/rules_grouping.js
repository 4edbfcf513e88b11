// @ts-check
/**
 * A rule's grouping policy (docs/grouping.md): the editor on the rule's page and the
 * one-line summary of the rules list. The console does not check the policy itself:
 * GroupingPolicy.parse on the server is the one judge, and its 422 names the field
 * (`grouping.group_by[1]`, `grouping.repeat_interval_s`), which is shown on that field.
 */
import { html, useEffect, useState } from "../lib/html.js";
import { fieldError } from "../lib/fielderror.js";
import { ErrorBox, useAction } from "../lib/ui.js";
import { FieldError, invalidProps } from "./endpoints_fields.js";

/** @typedef {import("../lib/types.js").GroupingPolicy} GroupingPolicy */

/** The API's defaults (domain/grouping.py), shown as placeholders and hints. */
const TIMERS = /** @type {const} */ ([
  ["group_wait_s", "Group wait", 30, "before a new group's first digest"],
  ["group_interval_s", "Group interval", 300, "least time between two digests with new members"],
  ["repeat_interval_s", "Repeat interval", 14400, "a still-firing group is announced again"],
]);
const ID = "rule-grouping";

/**
 * Seconds in the largest unit that divides them exactly: 30s, 5m, 4h, 90s.
 * @param {number} s
 */
export function shortDuration(s) {
  if (s && s % 3600 === 0) return `${s / 3600}h`;
  if (s && s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}

/**
 * "grouped by source, context.cluster · 30s/5m/4h"; "not grouped" for no policy.
 * @param {{grouping: GroupingPolicy | null | undefined}} props
 */
export function GroupingSummary({ grouping: g }) {
  if (!g) return html`<span class="muted">not grouped</span>`;
  const by = g.group_by.length ? `grouped by ${g.group_by.join(", ")}` : "grouped (all together)";
  const timers = [g.group_wait_s, g.group_interval_s, g.repeat_interval_s].map(shortDuration).join("/");
  return html`<span class="grouping-summary" title="group wait / group interval / repeat interval">${by} · ${timers}</span>`;
}

/** @typedef {{on: boolean, group_by: string[], group_wait_s: string, group_interval_s: string, repeat_interval_s: string}} Draft */

/** @param {GroupingPolicy | null} g @returns {Draft} */
const draftOf = (g) => ({
  on: Boolean(g),
  group_by: g ? [...g.group_by] : [],
  group_wait_s: g ? String(g.group_wait_s) : "",
  group_interval_s: g ? String(g.group_interval_s) : "",
  repeat_interval_s: g ? String(g.repeat_interval_s) : "",
});

/**
 * The body's `grouping`: null removes the policy; an empty timer is left out so the API
 * fills its default in; a number field the browser cannot read ("1e") is sent as the
 * text typed, so the API's 422 lands on that field rather than the default being taken.
 * @param {Draft} d
 * @returns {Record<string, unknown> | null}
 */
function bodyOf(d) {
  if (!d.on) return null;
  /** @type {Record<string, unknown>} */
  const body = { group_by: d.group_by.map((f) => f.trim()) };
  for (const [key] of TIMERS) {
    const text = d[key].trim();
    if (text) body[key] = /^\d+$/.test(text) ? Number(text) : text;
  }
  return body;
}

/**
 * The grouping editor of one rule. `save` PATCHes the rule with the body's grouping and
 * answers when done (it throws the API's error, shown here on its field).
 * @param {{grouping: GroupingPolicy | null, version: number,
 *   save: (grouping: Record<string, unknown> | null) => Promise<unknown>}} props
 */
export function GroupingEditor({ grouping, version, save }) {
  const [draft, setDraft] = useState(() => draftOf(grouping));
  // A saved or reloaded rule (a new version, or another rule) shows its stored policy,
  // defaults filled in; what was typed and not saved is dropped with the old version.
  useEffect(() => setDraft(draftOf(grouping)), [version, JSON.stringify(grouping)]);
  const [saved, setSaved] = useState(/** @type {string | null} */ (null));
  const action = useAction(async () => {
    setSaved(null);
    await save(bodyOf(draft));
    setSaved(draft.on ? "Grouping saved." : "Grouping removed.");
  });
  const err = action.error;
  /** @param {Partial<Draft>} change */
  const set = (change) => setDraft({ ...draft, ...change });
  /** @param {number} i @param {string} value */
  const setField = (i, value) => set({ group_by: draft.group_by.map((f, j) => (j === i ? value : f)) });
  // The list's own refusals (too many, a repeat) are named `grouping.group_by`; a
  // policy-wide one (`grouping`) and anything else go to the box below the form.
  const listError = fieldError(err, "grouping.group_by");
  return html`<form class="stacked panel" aria-label="Grouping" onSubmit=${(/** @type {Event} */ e) => {
    e.preventDefault();
    action.run();
  }}>
    <h2 class="form-title">Grouping</h2>
    <p class="hint">Alerts of this rule are sent as digests, one per group of equal values of the fields
      below, instead of one message each (<code>[]</code>: all of the rule's alerts in one group).</p>
    <label for=${`${ID}-on`} class="check"><input id=${`${ID}-on`} type="checkbox" checked=${draft.on}
      onChange=${(/** @type {Event} */ e) => set({ on: /** @type {HTMLInputElement} */ (e.currentTarget).checked })} />
      Group this rule's notifications</label>
    ${draft.on
      ? html`<fieldset class="group-by" aria-describedby=${`${ID}-by-hint`}>
          <legend>Group by</legend>
          ${draft.group_by.map((f, i) => {
            const field = `grouping.group_by[${i}]`;
            return html`<div class="group-by-row">
              <label for=${`${ID}-by-${i}`}>Field ${i + 1}</label>
              <input id=${`${ID}-by-${i}`} value=${f} required maxlength="200" list=${`${ID}-fields`}
                onInput=${(/** @type {Event} */ e) => setField(i, /** @type {HTMLInputElement} */ (e.currentTarget).value)}
                ...${invalidProps(err, field, ID)} />
              <button type="button" class="secondary" aria-label=${`Remove field ${i + 1}`}
                onClick=${() => set({ group_by: draft.group_by.filter((_, j) => j !== i) })}>Remove</button>
              <${FieldError} error=${err} field=${field} idPrefix=${ID} />
            </div>`;
          })}
          <datalist id=${`${ID}-fields`}>
            <option value="severity" /><option value="source" /><option value="name" /><option value="context." />
          </datalist>
          <button type="button" class="secondary" onClick=${() => set({ group_by: [...draft.group_by, ""] })}>
            Add field</button>
          ${listError ? html`<p class="field-error" role="alert">${listError}</p>` : null}
          <p class="hint" id=${`${ID}-by-hint`}><code>severity</code>, <code>source</code>, <code>name</code>${" "}or${" "}<code>context.${"<key>"}</code>; at most 8. A context key an alert lacks reads as empty.</p>
        </fieldset>
        ${TIMERS.map(([key, label, dflt, what]) => {
          const field = `grouping.${key}`;
          return html`<div class="field"><label for=${`${ID}-${key}`}>${label} (s)</label>
            <input id=${`${ID}-${key}`} inputmode="numeric" value=${draft[key]} placeholder=${String(dflt)}
              onInput=${(/** @type {Event} */ e) => set({ [key]: /** @type {HTMLInputElement} */ (e.currentTarget).value })}
              ...${invalidProps(err, field, ID)} />
            <span class="hint">default ${dflt} s (${shortDuration(dflt)}): ${what}</span>
            <${FieldError} error=${err} field=${field} idPrefix=${ID} />
          </div>`;
        })}`
      : null}
    <div class="actions">
      <button type="submit" disabled=${action.busy}>${draft.on ? "Save grouping" : grouping ? "Remove grouping" : "Save grouping"}</button>
      <button type="button" class="secondary" onClick=${() => {
        setDraft(draftOf(grouping));
        action.clear();
      }}>Reset</button>
    </div>
    ${saved ? html`<p class="notice" role="status">${saved}</p>` : null}
    <${ErrorBox} error=${err} />
  </form>`;
}
