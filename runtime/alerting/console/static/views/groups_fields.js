// @ts-check
/**
 * How a group is named in the groups list and on its page: its labels and its endpoint.
 * The label values are alert text, so they are only ever text nodes.
 */
import { html } from "../lib/html.js";

/** @typedef {import("../lib/types.js").Group} Group */

/**
 * A group's labels as `key=value` text ("all" for a rule grouped on nothing), for a
 * link's accessible name.
 * @param {Record<string, string>} labels
 */
export function labelText(labels) {
  const pairs = Object.entries(labels);
  return pairs.length ? pairs.map(([k, v]) => `${k}=${v}`).join(", ") : "all";
}

/** @param {{labels: Record<string, string>}} props */
export function Labels({ labels }) {
  const pairs = Object.entries(labels);
  if (!pairs.length) return html`<span class="muted">all of the rule's alerts</span>`;
  return html`<span class="labels">${pairs.map(([k, v]) => html`<span class="label"><span class="mono">${k}</span>=${v}</span> `)}</span>`;
}

/** The endpoint's channel and short id; "deleted" once it is gone (no foreign key). @param {{group: Group}} props */
export function EndpointName({ group }) {
  return html`${group.endpoint_type ?? html`<span class="muted">deleted</span>`}${" "}<code class="muted" title=${group.endpoint_id}>${group.endpoint_id.slice(0, 8)}</code>`;
}
