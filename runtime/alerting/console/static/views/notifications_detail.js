// @ts-check
/**
 * One notification: the alert's fields and context (text in a table, never markup: alert
 * text is the sender's, i.e. anyone's), its episode, each endpoint's delivery and every
 * attempt. Refreshes itself while the sender is still working on it, so a re-drive is
 * seen through to SENT or FAILED; "Re-drive" when FAILED; "Silence this alert" opens
 * the silence form prefilled with this alert's fields.
 */
import { html, useEffect, useRef, useState } from "../lib/html.js";
import { href } from "../lib/router.js";
import { Badge, ErrorBox, Loaded, Time, useAction } from "../lib/ui.js";
import { FINAL } from "./notifications_list.js";

const POLL_MS = 1000;

/** @typedef {import("../lib/ui.js").Resource<any>} Resource */

/**
 * @param {PromiseSettledResult<any>} settled
 * @returns {Resource}
 */
function resourceOf(settled) {
  return settled.status === "fulfilled"
    ? { status: "ready", data: settled.value }
    : { status: "error", error: settled.reason };
}

/**
 * The notification and its attempts, polled while the sender still works on it. One
 * request pair at a time: the next starts POLL_MS after the previous answer, so a slow
 * answer is shown rather than discarded by the next tick. Polling stops once the
 * notification is final (or failed to load) and while the tab is hidden (it resumes
 * when the tab is shown again). reload() asks for a fresh pair now, or right after the
 * pair in flight when there is one.
 * @param {import("../lib/api.js").Api} api
 * @param {string} base
 * @returns {{detail: Resource, attempts: Resource, reload: () => void}}
 */
function usePolledNotification(api, base) {
  const [detail, setDetail] = useState(/** @type {Resource} */ ({ status: "loading" }));
  const [attempts, setAttempts] = useState(/** @type {Resource} */ ({ status: "loading" }));
  const reloadRef = useRef(() => {});
  useEffect(() => {
    let live = true;
    let busy = false;
    let again = false;
    let moving = false;
    let timer = 0;
    setDetail({ status: "loading" });
    setAttempts({ status: "loading" });
    const schedule = () => {
      if (live && moving && !busy && !timer && !document.hidden) timer = window.setTimeout(load, POLL_MS);
    };
    async function load() {
      window.clearTimeout(timer);
      timer = 0;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      const [d, a] = await Promise.allSettled([api.get(base), api.get(`${base}/attempts?limit=500`)]);
      busy = false;
      if (!live) return;
      setDetail(resourceOf(d));
      setAttempts(resourceOf(a));
      moving = d.status === "fulfilled" && !FINAL.has(d.value.status);
      if (again) {
        again = false;
        load();
      } else {
        schedule();
      }
    }
    const onVisibility = () => {
      if (document.hidden) {
        window.clearTimeout(timer);
        timer = 0;
      } else {
        schedule();
      }
    };
    document.addEventListener("visibilitychange", onVisibility);
    reloadRef.current = load;
    load();
    return () => {
      live = false;
      window.clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisibility);
    };
  }, [api, base]);
  return { detail, attempts, reload: () => reloadRef.current() };
}

/** @param {{session: import("../lib/session.js").Session, notificationId: string}} props */
export function NotificationDetail({ session, notificationId }) {
  const { api } = session;
  const base = `/api/v1/notifications/${encodeURIComponent(notificationId)}`;
  const { detail, attempts, reload } = usePolledNotification(api, base);
  const redrive = useAction(async () => {
    await api.post(`${base}/retry`);
    reload();
  });

  return html`<section aria-labelledby="notification-h">
    <p><a href=${href("notifications")}>← All notifications</a></p>
    <h1 id="notification-h">Notification</h1>
    <${Loaded} resource=${detail}>
      ${(/** @type {any} */ n) => html`
        <div class="actions">
          <button type="button" class="secondary" onClick=${reload}>Refresh</button>
          ${n.status === "FAILED"
            ? html`<button type="button" disabled=${redrive.busy} onClick=${() => redrive.run()}>Re-drive</button>`
            : null}
          <a class="button-link" href=${href("silences", "new", {
            client_id: n.client_id, severity: n.severity, source: n.source, name: n.name, alert_id: n.alert_id,
          })}>Silence this alert</a>
        </div>
        <${ErrorBox} error=${redrive.error} />
        <${Fields} n=${n} />
        <${Episode} rows=${n.episode_rows} current=${n.notification_id} />
        <${Deliveries} items=${n.deliveries} />
        <h2 id="attempts-h">Attempts</h2>
        <${Loaded} resource=${attempts} empty="No delivery attempts yet." isEmpty=${(/** @type {any} */ d) => !d.items.length}>
          ${(/** @type {any} */ page) => html`<${Attempts} items=${page.items} deliveries=${n.deliveries} />`}
        <//>`}
    <//>
  </section>`;
}

/** @param {{n: any}} props */
function Fields({ n }) {
  const context = Object.entries(n.context ?? {});
  /** @type {[string, any][]} */
  const rows = [
    ["Status", html`<${Badge} value=${n.status} />`],
    ["Kind", n.kind],
    ["Client", n.client_id],
    ["Alert id", html`<code>${n.alert_id}</code>`],
    ["Severity", n.severity],
    ["Source", n.source],
    ["Name", n.name],
    ["Event time", html`<${Time} iso=${n.event_ts} />`],
    ["Attempts", n.attempts],
    ["Last error", n.last_error ?? "—"],
    ["Next attempt", html`<${Time} iso=${n.next_attempt_at} />`],
    ["Created", html`<${Time} iso=${n.created_at} />`],
    ["Sent", html`<${Time} iso=${n.sent_at} />`],
    ["Silence", n.silence_id ? html`<a href=${href("silences", n.silence_id)}>${n.silence_id}</a>` : "—"],
    ["Rules", n.rule_ids.map((/** @type {string} */ r) => html`<a href=${href("rules", r)}><code>${r}</code></a> `)],
  ];
  return html`<div class="panel">
    <table class="kv" aria-label="Alert fields">
      <tbody>${rows.map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${v}</td></tr>`)}</tbody>
    </table>
    <h2>Context</h2>
    ${context.length
      ? html`<table class="kv" aria-label="Alert context">
          <tbody>${context.map(([k, v]) => html`<tr><th scope="row"><code>${k}</code></th><td>${String(v)}</td></tr>`)}</tbody>
        </table>`
      : html`<p class="state empty">No context.</p>`}
  </div>`;
}

/** @param {{rows: any[], current: string}} props */
function Episode({ rows, current }) {
  return html`<h2>Episode</h2>
    <table aria-label="Episode">
      <thead><tr><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">Sent</th></tr></thead>
      <tbody>${rows.map((r) => html`<tr aria-current=${r.notification_id === current ? "true" : undefined}>
        <td><a href=${href("notifications", r.notification_id)}>${r.kind}</a></td>
        <td><${Badge} value=${r.status} /></td>
        <td><${Time} iso=${r.created_at} /></td>
        <td><${Time} iso=${r.sent_at} /></td>
      </tr>`)}</tbody>
    </table>`;
}

/** @param {{items: any[]}} props */
function Deliveries({ items }) {
  return html`<h2>Deliveries</h2>
    ${items.length
      ? html`<div class="table-scroll"><table aria-label="Deliveries">
          <thead><tr>
            <th scope="col">Endpoint</th><th scope="col">Type</th><th scope="col">Status</th>
            <th scope="col">Attempts</th><th scope="col">Response</th><th scope="col">Last error</th>
            <th scope="col">Group</th>
          </tr></thead>
          <tbody>${items.map((d) => html`<tr>
            <td><code>${d.endpoint_id}</code></td>
            <td>${d.endpoint_type}</td>
            <td><${Badge} value=${d.status} /></td>
            <td>${d.attempts}</td>
            <td>${d.response_code ?? "—"}</td>
            <td>${d.last_error ?? "—"}</td>
            <td><${GroupLinks} d=${d} /></td>
          </tr>`)}</tbody>
        </table></div>`
      : html`<p class="state empty">No endpoint deliveries (none matched, or not sent yet).</p>`}`;
}

/**
 * A grouped delivery's group and, once a digest carries it, that digest's members.
 * @param {{d: import("../lib/types.js").Delivery}} props
 */
function GroupLinks({ d }) {
  if (!d.group_id) return "—";
  return html`<a href=${href("groups", d.group_id)}>group</a>${d.digest_id
    ? html` · <a href=${href("groups", d.group_id, { digest: d.digest_id })}>digest</a>`
    : null}`;
}

/**
 * An attempt made by a digest links to that digest: its group is the endpoint's
 * delivery's (an attempt row names the digest, not the group).
 * @param {{items: any[], deliveries: import("../lib/types.js").Delivery[]}} props
 */
function Attempts({ items, deliveries }) {
  const groupOf = new Map(deliveries.map((d) => [d.endpoint_id, d.group_id]));
  /** @param {any} a */
  const digest = (a) => {
    const group = a.digest_id ? groupOf.get(a.endpoint_id) : null;
    return group ? html` <a href=${href("groups", group, { digest: a.digest_id })}>digest</a>` : null;
  };
  return html`<div class="table-scroll"><table aria-labelledby="attempts-h" class="attempts">
    <thead><tr>
      <th scope="col">Started</th><th scope="col">Endpoint</th><th scope="col">#</th>
      <th scope="col">Duration</th><th scope="col">Outcome</th><th scope="col">Response code</th>
      <th scope="col">Error</th><th scope="col">Answer</th>
    </tr></thead>
    <tbody>${items.map((a) => html`<tr>
      <td><${Time} iso=${a.started_at} /></td>
      <td>${a.endpoint_type} <code class="muted">${String(a.endpoint_id).slice(0, 8)}</code>${digest(a)}</td>
      <td>${a.attempt}</td>
      <td>${a.duration_ms} ms</td>
      <td><${Badge} value=${a.outcome} /></td>
      <td>${a.response_code ?? "—"}</td>
      <td>${a.error ?? "—"}</td>
      <td>${a.response_excerpt ? html`<pre class="excerpt">${a.response_excerpt}</pre>` : "—"}</td>
    </tr>`)}</tbody>
  </table></div>`;
}
