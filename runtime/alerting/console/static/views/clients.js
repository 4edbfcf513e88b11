// @ts-check
/**
 * Clients and their API keys. Admin: every client, create one, issue a key (its token
 * shown once), revoke. A client key: its own client and keys, read-only here (issuing
 * and revoking keys is the admin's).
 */
import { html, useState } from "../lib/html.js";
import { query } from "../lib/api.js";
import { forgetClients } from "../lib/clients.js";
import { Pager, usePaging } from "../lib/paging.js";
import { href, navigate } from "../lib/router.js";
import { Badge, ErrorBox, Loaded, SecretOnce, Time, submitWith, useAction, useResource } from "../lib/ui.js";

/** @typedef {import("../lib/types.js").Page<import("../lib/types.js").Client>} ClientPage */
/** @typedef {import("../lib/types.js").Page<import("../lib/types.js").ApiKey>} KeyPage */

/** @param {import("./index.js").ViewProps} props */
export function ClientsView({ session, loc }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const paging = usePaging("");
  const { cursor } = paging;
  const [clients, reload] = useResource(
    (signal) => api.get(`/api/v1/clients${query({ cursor, limit: 50 })}`, { signal }),
    [cursor],
  );
  const create = useAction(async (/** @type {Record<string, string>} */ values) => {
    const made = await api.post("/api/v1/clients", { client_id: values.client_id, name: values.name });
    forgetClients(api); // the client pickers list it from now on
    reload();
    navigate("clients", made.client_id);
  });
  return html`<section aria-labelledby="clients-h">
    <h1 id="clients-h">Clients</h1>
    ${admin
      ? html`<form class="inline" aria-label="Create a client"
          onSubmit=${submitWith(create)}>
          <label>Client id <input name="client_id" required /></label>
          <label>Name <input name="name" required /></label>
          <button type="submit" disabled=${create.busy}>Create client</button>
          <${ErrorBox} error=${create.error} />
        </form>`
      : null}
    <${Loaded} resource=${clients} empty="No clients yet." isEmpty=${(/** @type {ClientPage} */ d) => !d.items.length && !cursor}>
      ${(/** @type {ClientPage} */ page) => html`<table>
          <thead><tr><th scope="col">Client</th><th scope="col">Name</th><th scope="col">Created</th></tr></thead>
          <tbody>
            ${page.items.map(
              (c) => html`<tr aria-current=${c.client_id === loc.id ? "true" : undefined}>
                <td><a href=${href("clients", c.client_id)}>${c.client_id}</a></td>
                <td>${c.name}</td>
                <td><${Time} iso=${c.created_at} /></td>
              </tr>`,
            )}
          </tbody>
        </table>
        <${Pager} paging=${paging} nextCursor=${page.next_cursor} />`}
    <//>
    ${loc.id ? html`<${Keys} session=${session} clientId=${loc.id} />` : null}
  </section>`;
}

/** @param {{session: import("../lib/session.js").Session, clientId: string}} props */
function Keys({ session, clientId }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const base = `/api/v1/clients/${encodeURIComponent(clientId)}/api-keys`;
  const [keys, reload] = useResource((signal) => api.get(`${base}?limit=100`, { signal }), [clientId]);
  const [token, setToken] = useState(/** @type {string | null} */ (null));
  const issue = useAction(async (/** @type {Record<string, string>} */ values) => {
    const made = await api.post(base, { description: values.description ?? "" });
    setToken(made.token);
    reload();
  });
  const revoke = useAction(async (/** @type {string} */ keyId) => {
    if (!window.confirm("Revoke this key? Callers using it get 401 at once.")) return;
    await api.del(`${base}/${keyId}`);
    reload();
  });
  return html`<section aria-labelledby="keys-h" class="panel">
    <h2 id="keys-h">API keys of ${clientId}</h2>
    ${admin
      ? html`<form class="inline" aria-label="Issue a key"
          onSubmit=${submitWith(issue)}>
          <label>Description <input name="description" /></label>
          <button type="submit" disabled=${issue.busy}>Issue key</button>
          <${ErrorBox} error=${issue.error} />
        </form>`
      : null}
    ${token ? html`<${SecretOnce} label="New API key" value=${token} onClose=${() => setToken(null)} />` : null}
    <${ErrorBox} error=${revoke.error} />
    <${Loaded} resource=${keys} empty="This client has no keys." isEmpty=${(/** @type {KeyPage} */ d) => !d.items.length}>
      ${(/** @type {KeyPage} */ page) => html`<table>
        <thead><tr>
          <th scope="col">Prefix</th><th scope="col">Description</th><th scope="col">Created</th>
          <th scope="col">Last used</th><th scope="col">State</th><th scope="col"><span class="sr-only">Actions</span></th>
        </tr></thead>
        <tbody>
          ${page.items.map(
            (k) => html`<tr>
              <td><code>${k.prefix}</code></td>
              <td>${k.description}</td>
              <td><${Time} iso=${k.created_at} /></td>
              <td><${Time} iso=${k.last_used_at} /></td>
              <td>${k.revoked_at ? html`<${Badge} value="revoked" />` : html`<${Badge} value="active" />`}</td>
              <td>${admin && !k.revoked_at
                ? html`<button type="button" class="danger" onClick=${() => revoke.run(k.key_id)}>Revoke</button>`
                : null}</td>
            </tr>`,
          )}
        </tbody>
      </table>`}
    <//>
  </section>`;
}
