// @ts-check
/**
 * The notifications list: filters (status, kind, client for admins, a created-at
 * window) live in the URL so a filtered list can be shared; paged; refreshed every few
 * seconds while the tab is visible; and "re-drive all FAILED matching this filter"
 * (POST /api/v1/notifications/retry, repeated while the API says more).
 */
import { html, useState } from "../lib/html.js";
import { query } from "../lib/api.js";
import { ClientPicker } from "../lib/clients.js";
import { fromLocalInput, toLocalInput } from "../lib/localtime.js";
import { Pager, usePaging } from "../lib/paging.js";
import { usePolling } from "../lib/poll.js";
import { href, setParams } from "../lib/router.js";
import { Badge, ErrorBox, Loaded, Time, useAction, useResource } from "../lib/ui.js";

/** @typedef {import("../lib/types.js").Notification} Notification */
/** @typedef {import("../lib/types.js").Page<Notification>} NotificationPage */

/** Statuses after which the sender does nothing more with a notification on its own. */
export const FINAL = new Set(["SENT", "FAILED", "SUPPRESSED"]);
// GROUPED: waiting in a group for a digest (docs/grouping.md); not final, the digest decides.
const STATUSES = ["PENDING", "SENDING", "RETRY", "GROUPED", "SENT", "FAILED", "SUPPRESSED"];
export const POLL_MS = 2000;
// Each bulk call re-drives at most this many (the API's most); the loop stops anyway
// after this many calls so a filter that keeps matching new failures cannot spin.
const BULK_LIMIT = 1000;
const BULK_CALLS = 100;

/**
 * @param {{session: import("../lib/session.js").Session, loc: import("../lib/router.js").Location}} props
 */
export function NotificationList({ session, loc }) {
  const { api, caller } = session;
  const admin = caller.kind === "admin";
  const p = loc.params;
  const filters = {
    status: p.get("status") || undefined,
    kind: p.get("kind") || undefined,
    client_id: (admin ? p.get("client_id") : null) || undefined,
    since: p.get("since") || undefined,
    until: p.get("until") || undefined,
  };
  const key = JSON.stringify(filters);
  // The pages belong to the filter: a new filter asks for its first page at once.
  const paging = usePaging(key);
  const { cursor } = paging;
  const [list, reload, refresh] = useResource(
    // Newest first: at 3 a.m. the operator wants what just happened on the first page.
    (signal) =>
      api.get(`/api/v1/notifications${query({ ...filters, order: "desc", cursor, limit: 50 })}`, { signal }),
    [key, cursor],
  );
  // The list follows the pipeline: new notifications and status changes appear without
  // a click. One request at a time, however slow the API; none while the tab is hidden.
  usePolling(refresh, POLL_MS);

  const [redriven, setRedriven] = useState(/** @type {number | null} */ (null));
  // The bulk re-drive acts on FAILED rows only: offered when the list shows them (no
  // status filter, or FAILED), never under another status the operator is looking at.
  const bulkApplies = !filters.status || filters.status === "FAILED";
  const bulk = useAction(async () => {
    setRedriven(null);
    if (!window.confirm(bulkScope(filters, admin))) return;
    const body = { client_id: filters.client_id, kind: filters.kind, since: filters.since, until: filters.until };
    let total = 0;
    /** @type {string | null} */
    let after = null;
    // One sweep: each call continues after the rows the previous one visited (`next`),
    // so a notification that fails again during the sweep is not re-driven twice.
    for (let call = 0; call < BULK_CALLS; call++) {
      const answer = await api.post("/api/v1/notifications/retry", { ...body, limit: BULK_LIMIT, after });
      total += answer.retried;
      setRedriven(total);
      if (!answer.more || !answer.next) break;
      after = answer.next;
    }
    reload();
  });

  return html`<section aria-labelledby="notifications-h">
    <h1 id="notifications-h">Notifications</h1>
    <${Filters} session=${session} params=${p} />
    <div class="actions">
      <button type="button" class="secondary" onClick=${reload}>Refresh</button>
      <button type="button" class="danger" disabled=${bulk.busy || !bulkApplies} onClick=${() => bulk.run()}
        title=${bulkApplies ? undefined : "Only FAILED notifications are re-driven: clear the status filter or pick FAILED"}>
        Re-drive all FAILED matching this filter
      </button>
    </div>
    ${redriven !== null
      ? html`<p class="notice" role="status" data-testid="bulk-result">
          Re-drove ${redriven} FAILED notification${redriven === 1 ? "" : "s"}${bulk.busy ? "…" : "."}
        </p>`
      : null}
    <${ErrorBox} error=${bulk.error} />
    <${Loaded} resource=${list} empty="No notifications match this filter."
      isEmpty=${(/** @type {NotificationPage} */ d) => !d.items.length && !cursor}>
      ${(/** @type {NotificationPage} */ page) => html`<div class="table-scroll"><table class="notifications">
          <thead><tr>
            <th scope="col">Alert</th><th scope="col">Kind</th><th scope="col">Episode</th>
            <th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Created</th>
            <th scope="col">Sent</th>
          </tr></thead>
          <tbody>${page.items.map((n) => html`<${Row} n=${n} admin=${admin} />`)}</tbody>
        </table></div>
        <${Pager} paging=${paging} nextCursor=${page.next_cursor} />`}
    <//>
  </section>`;
}

/**
 * What the confirmation names: which clients and which window the re-drive covers.
 * @param {{client_id?: string, kind?: string, since?: string, until?: string}} f
 * @param {boolean} admin
 */
function bulkScope(f, admin) {
  const who = f.client_id ? `client ${f.client_id}` : admin ? "EVERY client" : "your client";
  const what = f.kind ? `${f.kind} notifications` : "notifications";
  const from = f.since ? ` created from ${f.since}` : "";
  const to = f.until ? ` until ${f.until}` : "";
  return `Re-drive every FAILED ${what} of ${who}${from}${to}? Each is sent again to its endpoints.`;
}

/** @param {{n: Notification, admin: boolean}} props */
function Row({ n, admin }) {
  return html`<tr>
    <td>
      <a href=${href("notifications", n.notification_id)}>
        <span class="alert-sev">${n.severity}</span> <span>${n.source}</span> / <span>${n.name}</span>
      </a>
      ${admin ? html`<div class="muted">${n.client_id}</div>` : null}
    </td>
    <td>${n.kind}</td>
    <td>${n.episode}</td>
    <td><${Badge} value=${n.status} /></td>
    <td>${n.attempts}</td>
    <td><${Time} iso=${n.created_at} /></td>
    <td><${Time} iso=${n.sent_at} /></td>
  </tr>`;
}

/**
 * The filter controls: each change rewrites the URL (setParams), which reloads the list.
 * @param {{session: import("../lib/session.js").Session, params: URLSearchParams}} props
 */
function Filters({ session, params }) {
  /** @param {string} name @returns {(e: Event) => void} */
  const set = (name) => (e) => setParams({ [name]: /** @type {HTMLInputElement} */ (e.currentTarget).value });
  /** @param {string} name @returns {(e: Event) => void} */
  const setTime = (name) => (e) =>
    setParams({ [name]: fromLocalInput(/** @type {HTMLInputElement} */ (e.currentTarget).value) });
  return html`<form class="filters" aria-label="Filter notifications" onSubmit=${(/** @type {Event} */ e) => e.preventDefault()}>
    <label>Status
      <select name="status" value=${params.get("status") ?? ""} onChange=${set("status")}>
        <option value="">any</option>
        ${STATUSES.map((s) => html`<option value=${s}>${s}</option>`)}
      </select>
    </label>
    <label>Kind
      <select name="kind" value=${params.get("kind") ?? ""} onChange=${set("kind")}>
        <option value="">any</option><option value="firing">firing</option><option value="resolved">resolved</option>
      </select>
    </label>
    <${ClientPicker} session=${session} id="notifications-filter-client" name="client_id" label="Client"
      value=${params.get("client_id") ?? ""} any="All clients"
      onChange=${(/** @type {string} */ v) => setParams({ client_id: v })} />
    <label>Created since
      <input type="datetime-local" name="since" value=${toLocalInput(params.get("since"))} onChange=${setTime("since")} />
    </label>
    <label>Created before
      <input type="datetime-local" name="until" value=${toLocalInput(params.get("until"))} onChange=${setTime("until")} />
    </label>
  </form>`;
}
