// @ts-check
/**
 * One notification: the alert's fields and context (text in a table, never markup: alert
 * text is the sender's, i.e. anyone's), its episode, each endpoint's delivery and every
 * attempt. Refreshes itself while the sender is still working on it, so a re-drive is
 * seen through to SENT or FAILED; "Re-drive" when FAILED; "Silence this alert" opens
 * the silence form prefilled with this alert's fields.
 */
import { html, useEffect } from "../lib/html.js";
import { href } from "../lib/router.js";
import { Badge, ErrorBox, Loaded, Time, useAction, useResource } from "../lib/ui.js";
import { FINAL } from "./notifications_list.js";

const POLL_MS = 1000;

/** @param {{session: import("../lib/session.js").Session, notificationId: string}} props */
export function NotificationDetail({ session, notificationId }) {
  const { api } = session;
  const base = `/api/v1/notifications/${encodeURIComponent(notificationId)}`;
  const [detail, reloadDetail] = useResource(() => api.get(base), [base]);
  const [attempts, reloadAttempts] = useResource(() => api.get(`${base}/attempts?limit=500`), [base]);
  const reload = () => {
    reloadDetail();
    reloadAttempts();
  };
  const moving = detail.status === "ready" && !FINAL.has(detail.data.status);
  useEffect(() => {
    if (!moving) return undefined;
    const id = window.setInterval(reload, POLL_MS);
    return () => window.clearInterval(id);
  }, [moving]);
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
          ${(/** @type {any} */ page) => html`<${Attempts} items=${page.items} />`}
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
      <tbody>${rows.map((r) => html`<tr aria-selected=${r.notification_id === current}>
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
          </tr></thead>
          <tbody>${items.map((d) => html`<tr>
            <td><code>${d.endpoint_id}</code></td>
            <td>${d.endpoint_type}</td>
            <td><${Badge} value=${d.status} /></td>
            <td>${d.attempts}</td>
            <td>${d.response_code ?? "—"}</td>
            <td>${d.last_error ?? "—"}</td>
          </tr>`)}</tbody>
        </table></div>`
      : html`<p class="state empty">No endpoint deliveries (none matched, or not sent yet).</p>`}`;
}

/** @param {{items: any[]}} props */
function Attempts({ items }) {
  return html`<div class="table-scroll"><table aria-labelledby="attempts-h" class="attempts">
    <thead><tr>
      <th scope="col">Started</th><th scope="col">Endpoint</th><th scope="col">#</th>
      <th scope="col">Duration</th><th scope="col">Outcome</th><th scope="col">Response code</th>
      <th scope="col">Error</th><th scope="col">Answer</th>
    </tr></thead>
    <tbody>${items.map((a) => html`<tr>
      <td><${Time} iso=${a.started_at} /></td>
      <td>${a.endpoint_type} <code class="muted">${String(a.endpoint_id).slice(0, 8)}</code></td>
      <td>${a.attempt}</td>
      <td>${a.duration_ms} ms</td>
      <td><${Badge} value=${a.outcome} /></td>
      <td>${a.response_code ?? "—"}</td>
      <td>${a.error ?? "—"}</td>
      <td>${a.response_excerpt ? html`<pre class="excerpt">${a.response_excerpt}</pre>` : "—"}</td>
    </tr>`)}</tbody>
  </table></div>`;
}
