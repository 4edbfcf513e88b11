// @ts-check
/**
 * What the rules view and the match tester share: the API's severity values, the
 * client picker (an admin chooses among clients; a client key is its own client, so it
 * gets no picker at all) and a rule's three patterns shown as text.
 */
import { html } from "../lib/html.js";
import { useResource } from "../lib/ui.js";

/** A rule's severity: one of the alert severities, or "*" for any (RuleSeverity). */
export const RULE_SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL", "*"];
/** An alert's severity (AlertSeverity): a sample alert has a real one. */
export const ALERT_SEVERITIES = ["LOW", "MEDIUM", "HIGH", "CRITICAL"];

/** @typedef {import("../lib/session.js").Session} Session */

/**
 * The client ids an admin can pick from (first 500: a picker is not a directory; the
 * filter still takes any id typed in the URL). A client key gets its own id only.
 * @param {Session} session
 * @returns {import("../lib/ui.js").Resource<string[]>}
 */
export function useClientIds(session) {
  const { api, caller } = session;
  const [clients] = useResource(async () => {
    if (caller.kind !== "admin") return [caller.client_id ?? ""];
    const page = await api.get("/api/v1/clients?limit=500");
    return page.items.map((/** @type {any} */ c) => String(c.client_id));
  }, [caller.kind, caller.client_id]);
  return clients;
}

/**
 * A <select> of clients for admins. `any` adds a first option with an empty value (for
 * filters: "all clients"); without it the admin must choose one. The current value is
 * kept as an option even when it is not in the loaded list (a shared link).
 * @param {{id: string, name: string, label: string, clients: import("../lib/ui.js").Resource<string[]>,
 *   value?: string, any?: string, required?: boolean, onChange?: (value: string) => void}} props
 */
export function ClientSelect({ id, name, label, clients, value = "", any, required, onChange }) {
  const ids = clients.status === "ready" ? clients.data : [];
  const options = value && !ids.includes(value) ? [value, ...ids] : ids;
  return html`<div class="field"><label for=${id}>${label}</label>
    <select id=${id} name=${name} value=${value} required=${required}
      onChange=${(/** @type {Event} */ e) => onChange?.(/** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
      ${any !== undefined ? html`<option value="">${any}</option>` : null}
      ${!any && !value ? html`<option value="" disabled>${clients.status === "loading" ? "Loading…" : "Choose a client"}</option>` : null}
      ${options.map((c) => html`<option value=${c}>${c}</option>`)}
    </select>
    ${clients.status === "error" ? html`<span class="hint">could not list clients: ${clients.error.message}</span>` : null}
  </div>`;
}

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
