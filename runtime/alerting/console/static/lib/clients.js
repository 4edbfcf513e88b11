// @ts-check
/**
 * The client picker every view with a client filter or a client field uses. An admin
 * chooses among the clients (the first 500, listed once per session: a picker is not a
 * directory; a value from the URL is kept as an option even when it is not among them);
 * a client key is its own client, so it gets no choice at all (`showFixed` shows which).
 */
import { html } from "./html.js";
import { useResource } from "./ui.js";

/** @typedef {import("./session.js").Session} Session */

export const CLIENTS_CAP = 500;

/** @type {WeakMap<object, Promise<string[]>>} one listing per signed-in Api */
const listed = new WeakMap();

/**
 * The client ids of the admin's first page of clients, fetched once per session.
 * @param {import("./api.js").Api} api
 * @returns {Promise<string[]>}
 */
function clientIds(api) {
  let ids = listed.get(api);
  if (!ids) {
    ids = api.get(`/api/v1/clients?limit=${CLIENTS_CAP}`).then(
      (/** @type {{items: import("./types.js").Client[]}} */ page) => page.items.map((c) => String(c.client_id)),
    );
    ids.catch(() => listed.delete(api)); // a failed listing is tried again next time
    listed.set(api, ids);
  }
  return ids;
}

/**
 * Forget the listing (a client was created or deleted): the next picker lists again.
 * @param {import("./api.js").Api} api
 */
export function forgetClients(api) {
  listed.delete(api);
}

/**
 * The client ids a caller can pick from: an admin's listing, a client key's own id.
 * @param {Session} session
 * @returns {import("./ui.js").Resource<string[]>}
 */
export function useClientIds(session) {
  const { api, caller } = session;
  const [clients] = useResource(
    async () => (caller.kind === "admin" ? clientIds(api) : [caller.client_id ?? ""]),
    [caller.kind, caller.client_id],
  );
  return clients;
}

/**
 * A <select> of clients for admins. `any` adds a first option with an empty value (for
 * filters: "all clients"); without it the admin must choose one. A client key gets
 * nothing, or with `showFixed` its client as text (a form that says whose it creates).
 * @param {{session: Session, id: string, name: string, label: string, value?: string,
 *   any?: string, required?: boolean, showFixed?: boolean, onChange?: (value: string) => void}} props
 */
export function ClientPicker({ session, id, name, label, value = "", any, required, showFixed, onChange }) {
  const clients = useClientIds(session);
  if (session.caller.kind !== "admin") {
    return showFixed ? html`<p class="field">${label} <strong>${session.caller.client_id}</strong></p>` : null;
  }
  const ids = clients.status === "ready" ? clients.data : [];
  const options = value && !ids.includes(value) ? [value, ...ids] : ids;
  return html`<div class="field"><label for=${id}>${label}</label>
    <select id=${id} name=${name} value=${value} required=${required}
      onChange=${(/** @type {Event} */ e) => onChange?.(/** @type {HTMLSelectElement} */ (e.currentTarget).value)}>
      ${any !== undefined ? html`<option value="">${any}</option>` : null}
      ${any === undefined && !value
        ? html`<option value="" disabled>${clients.status === "loading" ? "Loading…" : "Choose a client"}</option>`
        : null}
      ${options.map((c) => html`<option value=${c}>${c}</option>`)}
    </select>
    ${clients.status === "error" ? html`<span class="hint">could not list clients: ${clients.error.message}</span>` : null}
  </div>`;
}
