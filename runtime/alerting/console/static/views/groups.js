// @ts-check
/**
 * Groups (docs/grouping.md): the notification groups of grouped rules, newest first,
 * open ones by default (what is waiting to be sent is what an operator looks for in a
 * storm); /ui/groups/<id> is one group with its digests (groups_detail.js). Refreshed
 * every few seconds like the notifications list: a group's counts and due time move on
 * their own as members join and the sender flushes.
 */
import { html } from "../lib/html.js";
import { query } from "../lib/api.js";
import { ClientPicker } from "../lib/clients.js";
import { Pager, usePaging } from "../lib/paging.js";
import { usePolling } from "../lib/poll.js";
import { href, setParams } from "../lib/router.js";
import { Badge, Loaded, Time, useResource } from "../lib/ui.js";
import { GroupPage } from "./groups_detail.js";
import { EndpointName, Labels, labelText } from "./groups_fields.js";
import { POLL_MS } from "./notifications_list.js";

/** @typedef {import("../lib/types.js").Group} Group */
/** @typedef {import("../lib/types.js").Page<Group>} GroupList */

/** The state filter's choices: no `state` in the URL means open groups. */
const STATES = [
  ["", "Open"],
  ["closed", "Closed"],
  ["any", "Open and closed"],
];

/** @param {import("./index.js").ViewProps} props */
export function GroupsView({ session, loc }) {
  if (loc.id) {
    return html`<${GroupPage} key=${loc.id} session=${session} id=${loc.id} digestId=${loc.params.get("digest")} />`;
  }
  return html`<${GroupList} session=${session} loc=${loc} />`;
}

/** @param {import("./index.js").ViewProps} props */
function GroupList({ session, loc }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const p = loc.params;
  const filters = {
    client_id: (admin ? p.get("client_id") : null) || undefined,
    rule_id: p.get("rule_id") || undefined,
    state: p.get("state") ?? "",
  };
  const key = JSON.stringify(filters);
  const paging = usePaging(key);
  const { cursor } = paging;
  const state = filters.state === "any" ? undefined : filters.state || "open";
  const [list, , refresh] = useResource(
    (signal) => api.get(`/api/v1/groups${query({ ...filters, state, cursor, limit: 50 })}`, { signal }),
    [key, cursor],
  );
  usePolling(refresh, POLL_MS);
  return html`<section aria-labelledby="groups-h">
    <h1 id="groups-h">Groups</h1>
    <p class="hint">The notifications of a grouped rule wait in a group per endpoint and are sent as digests.</p>
    <form class="filters" aria-label="Filter groups" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
      <${ClientPicker} session=${session} id="groups-filter-client" name="client_id" label="Client"
        value=${filters.client_id ?? ""} any="All clients"
        onChange=${(/** @type {string} */ v) => setParams({ client_id: v })} />
      <div class="field"><label for="groups-filter-state">State</label>
        <select id="groups-filter-state" value=${filters.state}
          onChange=${(/** @type {Event} */ e) => setParams({ state: /** @type {HTMLSelectElement} */ (e.currentTarget).value })}>
          ${STATES.map(([v, label]) => html`<option value=${v}>${label}</option>`)}
        </select>
      </div>
      ${filters.rule_id
        ? html`<p class="hint">Rule <a href=${href("rules", filters.rule_id)}><code>${filters.rule_id}</code></a>
            <button type="button" class="secondary" onClick=${() => setParams({ rule_id: "" })}>Show every rule</button></p>`
        : null}
    </form>
    <${Loaded} resource=${list} empty="No group matches these filters."
      isEmpty=${(/** @type {GroupList} */ d) => !d.items.length && !cursor}>
      ${(/** @type {GroupList} */ page) => html`<div class="table-scroll"><table aria-label="Groups">
          <thead><tr>
            ${admin ? html`<th scope="col">Client</th>` : null}
            <th scope="col">Labels</th><th scope="col">Kind</th><th scope="col">Endpoint</th>
            <th scope="col">State</th><th scope="col">Pending</th><th scope="col">Members</th>
            <th scope="col">Digests</th><th scope="col">Due</th><th scope="col">Last flush</th>
            <th scope="col"><span class="sr-only">Open</span></th>
          </tr></thead>
          <tbody>${page.items.map((g) => html`<tr data-group-id=${g.group_id}>
            ${admin ? html`<td>${g.client_id}</td>` : null}
            <td><${Labels} labels=${g.labels} /></td>
            <td>${g.kind}</td>
            <td><${EndpointName} group=${g} /></td>
            <td><${Badge} value=${g.state} /></td>
            <td>${g.pending}</td>
            <td>${g.members}</td>
            <td>${g.digests}</td>
            <td><${Time} iso=${g.due_at} /></td>
            <td><${Time} iso=${g.last_flushed_at} /></td>
            <td><a href=${href("groups", g.group_id)} aria-label=${`Open group ${labelText(g.labels)} (${g.kind})`}>Open</a></td>
          </tr>`)}</tbody>
        </table></div>
        <${Pager} paging=${paging} nextCursor=${page.next_cursor} />`}
    <//>
  </section>`;
}
