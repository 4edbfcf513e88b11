// @ts-check
/**
 * One group (/ui/groups/<id>): what it is (kind, labels, endpoint, rule), its timers
 * and counts, its latest digests; `?digest=<id>` adds that digest's members below, each
 * linking to its notification (a digest is one message, but history, attempts and
 * re-drive stay per notification). Polled while the group is open.
 */
import { html } from "../lib/html.js";
import { usePolling } from "../lib/poll.js";
import { href } from "../lib/router.js";
import { Badge, Loaded, Time, useResource } from "../lib/ui.js";
import { EndpointName, Labels } from "./groups_fields.js";
import { POLL_MS } from "./notifications_list.js";

/** @typedef {import("../lib/types.js").GroupDetail} GroupDetail */
/** @typedef {import("../lib/types.js").DigestDetail} DigestDetail */

/** @param {{session: import("../lib/session.js").Session, id: string, digestId: string | null}} props */
export function GroupPage({ session, id, digestId }) {
  const { api } = session;
  const path = `/api/v1/groups/${encodeURIComponent(id)}`;
  const [group, , refresh] = useResource((signal) => api.get(path, { signal }), [path]);
  usePolling(() => (group.status === "ready" && group.data.state === "closed" ? undefined : refresh()), POLL_MS);
  return html`<section aria-labelledby="group-h">
    <p class="crumbs"><a href=${href("groups")}>← All groups</a></p>
    <h1 id="group-h">Group</h1>
    <${Loaded} resource=${group}>
      ${(/** @type {GroupDetail} */ g) => html`<${Facts} g=${g} />
        <h2>Digests</h2>
        ${g.latest_digests.length
          ? html`<${Digests} g=${g} selected=${digestId} />`
          : html`<p class="state empty">No digest yet: the first waits for the group's due time.</p>`}`}
    <//>
    ${digestId ? html`<${Members} session=${session} path=${`${path}/digests/${encodeURIComponent(digestId)}`} />` : null}
  </section>`;
}

/** @param {{g: GroupDetail}} props */
function Facts({ g }) {
  /** @type {[string, any][]} */
  const rows = [
    ["State", html`<${Badge} value=${g.state} />`],
    ["Kind", g.kind],
    ["Labels", html`<${Labels} labels=${g.labels} />`],
    ["Client", g.client_id],
    ["Rule", html`<a href=${href("rules", g.rule_id)}><code>${g.rule_id}</code></a>`],
    ["Endpoint", html`<${EndpointName} group=${g} />`],
    ["Pending", g.pending],
    ["Members", g.members],
    ["Digests", g.digests],
    ["Flushes", g.flushes],
    ["Opened", html`<${Time} iso=${g.opened_at} />`],
    ["Due", html`<${Time} iso=${g.due_at} />`],
    ["Last flush", html`<${Time} iso=${g.last_flushed_at} />`],
    ["Closed", html`<${Time} iso=${g.closed_at} />`],
  ];
  return html`<div class="panel"><table class="kv" aria-label="Group">
    <tbody>${rows.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody>
  </table></div>`;
}

/** @param {{g: GroupDetail, selected: string | null}} props */
function Digests({ g, selected }) {
  return html`<div class="table-scroll"><table aria-label="Digests">
    <thead><tr>
      <th scope="col">#</th><th scope="col">Status</th><th scope="col">Attempts</th>
      <th scope="col">Members</th><th scope="col">Response</th><th scope="col">Last error</th>
      <th scope="col">Created</th><th scope="col">Sent</th><th scope="col"><span class="sr-only">Members</span></th>
    </tr></thead>
    <tbody>${g.latest_digests.map((d) => html`<tr aria-current=${d.digest_id === selected ? "true" : undefined}>
      <td>${d.seq}${d.repeat ? html` <span class="muted">repeat</span>` : null}</td>
      <td><${Badge} value=${d.status} /></td>
      <td>${d.attempts}</td>
      <td>${d.members}</td>
      <td>${d.response_code ?? "—"}</td>
      <td>${d.last_error ?? "—"}</td>
      <td><${Time} iso=${d.created_at} /></td>
      <td><${Time} iso=${d.sent_at} /></td>
      <td><a href=${href("groups", g.group_id, { digest: d.digest_id })}
        aria-label=${`Members of digest ${d.seq}`}>Members</a></td>
    </tr>`)}</tbody>
  </table></div>
  ${g.digests > g.latest_digests.length
    ? html`<p class="hint">The latest ${g.latest_digests.length} of ${g.digests} digests.</p>`
    : null}`;
}

/** One digest's members, in the digest's order. @param {{session: import("../lib/session.js").Session, path: string}} props */
function Members({ session, path }) {
  const [digest] = useResource((signal) => session.api.get(path, { signal }), [path]);
  return html`<${Loaded} resource=${digest}>
    ${(/** @type {DigestDetail} */ d) => html`<h2 id="digest-h">Digest ${d.seq}: ${d.members} member${d.members === 1 ? "" : "s"}</h2>
      ${d.notifications.length
        ? html`<div class="table-scroll"><table aria-labelledby="digest-h" class="notifications">
            <thead><tr>
              <th scope="col">Alert</th><th scope="col">Kind</th><th scope="col">Episode</th>
              <th scope="col">Delivery</th>
            </tr></thead>
            <tbody>${d.notifications.map((n) => html`<tr>
              <td><a href=${href("notifications", n.notification_id)}>
                <span class="alert-sev">${n.severity}</span> <span>${n.source}</span> / <span>${n.name}</span></a></td>
              <td>${n.kind}</td>
              <td>${n.episode}</td>
              <td><${Badge} value=${n.status} /></td>
            </tr>`)}</tbody>
          </table></div>`
        : html`<p class="state empty">Its members were removed by retention.</p>`}`}
  <//>`;
}
