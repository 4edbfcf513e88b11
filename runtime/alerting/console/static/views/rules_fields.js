// @ts-check
/**
 * What the rules view and the match tester share: a rule's three patterns shown as
 * text and its live badge. (The severity lists and the client picker are lib's:
 * lib/severities.js, lib/clients.js.)
 */
import { html } from "../lib/html.js";

/** Kept here for the rule views that import them from this file (the list is lib's). */
export { RULE_SEVERITIES, SEVERITIES as ALERT_SEVERITIES } from "../lib/severities.js";

/**
 * A rule pattern as text; "*" (any value) is spelled out so it cannot be misread.
 * @param {{value: string}} props
 */
export function Pattern({ value }) {
  return value === "*" ? html`<span class="pattern-any" title="any value">* any</span>` : html`<span class="mono">${value}</span>`;
}

/**
 * Whether every evaluator already matches with this version of the rule.
 * @param {{live: boolean}} props
 */
export function LiveBadge({ live }) {
  return html`<span class=${`badge ${live ? "badge-live" : "badge-pending"}`}>${live ? "live" : "not live yet"}</span>`;
}
