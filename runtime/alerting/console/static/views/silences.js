// @ts-check
/**
 * Silences and maintenance windows: the list (/ui/silences?client_id=&state=, the API's
 * own filters), one silence (/ui/silences/<id>: everything, what it suppressed, Expire)
 * and the create form (/ui/silences/new?..., views/silences_form.js).
 */
import { html } from "../lib/html.js";
import { query } from "../lib/api.js";
import { ClientPicker } from "../lib/clients.js";
import { Pager, usePaging } from "../lib/paging.js";
import { href, setParams } from "../lib/router.js";
import { Badge, ErrorBox, Loaded, Time, useAction, useResource } from "../lib/ui.js";
import { SilenceForm } from "./silences_form.js";
import { STATES, matchersText, scheduleText } from "./silences_text.js";

/** @typedef {import("../lib/types.js").Silence} Silence */
/** @typedef {import("../lib/types.js").Notification} Notification */
/** @typedef {import("../lib/types.js").Page<Silence>} SilencePage */
/** @typedef {import("../lib/types.js").Page<Notification>} NotificationPage */

/** @param {import("./index.js").ViewProps} props */
export function SilencesView({ session, loc }) {
  if (loc.id === "new") return html`<${SilenceForm} key=${loc.params.toString()} session=${session} params=${loc.params} />`;
  if (loc.id) return html`<${SilenceDetail} session=${session} silenceId=${loc.id} />`;
  return html`<${SilenceList} session=${session} params=${loc.params} />`;
}

/** @param {{session: import("../lib/session.js").Session, params: URLSearchParams}} props */
function SilenceList({ session, params }) {
  const { api } = session;
  const clientId = params.get("client_id") ?? "";
  const state = params.get("state") ?? "";
  const paging = usePaging(JSON.stringify([clientId, state]));
  const { cursor } = paging;
  const [silences] = useResource(
    (signal) => api.get(`/api/v1/silences${query({ client_id: clientId, state, cursor, limit: 50 })}`, { signal }),
    [clientId, state, cursor],
  );
  /** @param {Record<string, string>} change */
  const filter = (change) => setParams(change);
  return html`<section aria-labelledby="silences-h">
    <h1 id="silences-h">Silences and maintenance windows</h1>
    <div class="filters" role="search" aria-label="Filter silences">
      <${ClientPicker} session=${session} id="silences-filter-client" name="client_id" label="Client"
        value=${clientId} any="All clients" onChange=${(/** @type {string} */ v) => filter({ client_id: v })} />
      <label>State <select name="state" value=${state}
          onChange=${(/** @type {Event} */ e) => filter({ state: /** @type {HTMLSelectElement} */ (e.currentTarget).value })}>
          <option value="">any</option>
          ${STATES.map((s) => html`<option value=${s}>${s}</option>`)}
        </select></label>
      <a class="button" href=${href("silences", "new", { client_id: clientId })}>New silence</a>
    </div>
    <${Loaded} resource=${silences} empty="No silences match." isEmpty=${(/** @type {SilencePage} */ d) => !d.items.length && !cursor}>
      ${(/** @type {SilencePage} */ page) => html`<table class="silences">
          <thead><tr>
            <th scope="col">Matchers</th><th scope="col">Kind</th><th scope="col">Starts</th>
            <th scope="col">Ends / schedule</th><th scope="col">State</th><th scope="col">Comment</th>
            <th scope="col">Client</th><th scope="col">Created by</th><th scope="col">Live</th>
          </tr></thead>
          <tbody>
            ${page.items.map(
              (s) => html`<tr>
                <td data-label="Matchers" class="matchers"><a class="mono" href=${href("silences", s.silence_id)}>${matchersText(s.matchers)}</a></td>
                <td data-label="Kind">${s.schedule ? "window" : "silence"}</td>
                <td data-label="Starts"><${Time} iso=${s.starts_at} /></td>
                <td data-label="Ends">${s.schedule ? html`<span>${scheduleText(s.schedule)}</span>` : null}
                  ${s.schedule && !s.ends_at ? null : html`<${Time} iso=${s.ends_at} />`}</td>
                <td data-label="State"><${Badge} value=${s.state} /></td>
                <td data-label="Comment">${s.comment}</td>
                <td data-label="Client">${s.client_id}</td>
                <td data-label="Created by">${s.created_by}</td>
                <td data-label="Live"><${Badge} value=${s.live ? "live" : "not live"} /></td>
              </tr>`,
            )}
          </tbody>
        </table>
        <${Pager} paging=${paging} nextCursor=${page.next_cursor} />`}
    <//>
  </section>`;
}

/** @param {{session: import("../lib/session.js").Session, silenceId: string}} props */
function SilenceDetail({ session, silenceId }) {
  const { api } = session;
  const path = `/api/v1/silences/${encodeURIComponent(silenceId)}`;
  const [silence, reload] = useResource((signal) => api.get(path, { signal }), [silenceId]);
  const expire = useAction(async () => {
    if (!window.confirm("Expire this silence now? The open episodes it muted are then delivered.")) return;
    await api.del(path);
    reload();
  });
  return html`<section aria-labelledby="silence-h">
    <p><a href=${href("silences")}>← All silences</a></p>
    <${Loaded} resource=${silence}>
      ${(/** @type {Silence} */ s) => html`<h1 id="silence-h">${s.schedule ? "Maintenance window" : "Silence"}${" "}
          <span class="mono muted">${s.silence_id}</span></h1>
        <dl class="facts">
          <dt>State</dt><dd><${Badge} value=${s.state} /> <${Badge} value=${s.live ? "live" : "not live"} /></dd>
          <dt>Client</dt><dd>${s.client_id}</dd>
          <dt>Matchers</dt><dd><ul class="plain">${s.matchers.map(
            (m) => html`<li class="mono">${m.name} ${m.op} ${JSON.stringify(m.value)}</li>`,
          )}</ul></dd>
          <dt>Starts</dt><dd><${Time} iso=${s.starts_at} /></dd>
          <dt>Ends</dt><dd>${s.ends_at || !s.schedule ? html`<${Time} iso=${s.ends_at} />` : "never (a standing window)"}</dd>
          ${s.schedule
            ? html`<dt>Schedule</dt><dd><ul class="plain">
                ${s.schedule.ranges.map((r) => html`<li>${r.days.join(", ")} ${r.start}–${r.end}</li>`)}
              </ul><span class="muted">in ${s.schedule.time_zone}</span></dd>`
            : null}
          <dt>Comment</dt><dd>${s.comment || html`<span class="muted">—</span>`}</dd>
          <dt>Created by</dt><dd>${s.created_by}, <${Time} iso=${s.created_at} /></dd>
          <dt>Updated</dt><dd><${Time} iso=${s.updated_at} /> (version ${s.version})</dd>
          ${s.expired_at ? html`<dt>Expired</dt><dd><${Time} iso=${s.expired_at} /></dd>` : null}
        </dl>
        ${s.state !== "expired"
          ? html`<div class="actions">
              <button type="button" class="danger" disabled=${expire.busy} onClick=${() => expire.run()}>Expire</button>
            </div>`
          : null}
        <${ErrorBox} error=${expire.error} />
        <${Suppressed} session=${session} silence=${s} />`}
    <//>
  </section>`;
}

/**
 * The notifications this silence holds back now. The API filters by status and client,
 * not by silence, so the client's SUPPRESSED rows are read and those of this silence
 * kept; the link opens the notifications view on the same filter.
 * @param {{session: import("../lib/session.js").Session, silence: Silence}} props
 */
function Suppressed({ session, silence }) {
  const filter = { status: "SUPPRESSED", client_id: silence.client_id };
  const [rows] = useResource(
    (signal) => session.api.get(`/api/v1/notifications${query({ ...filter, limit: 200 })}`, { signal }),
    [silence.silence_id, silence.version],
  );
  return html`<section aria-labelledby="suppressed-h" class="panel">
    <h2 id="suppressed-h">Notifications it suppressed</h2>
    <p><a href=${href("notifications", null, filter)}>All SUPPRESSED notifications of ${silence.client_id}</a></p>
    <${Loaded} resource=${rows} empty="None suppressed by this silence (of the client's latest 200)."
      isEmpty=${(/** @type {NotificationPage} */ d) => !d.items.some((n) => n.silence_id === silence.silence_id)}>
      ${(/** @type {NotificationPage} */ page) => html`<table>
        <thead><tr><th scope="col">Alert</th><th scope="col">Kind</th><th scope="col">Alert name</th>
          <th scope="col">Status</th><th scope="col">Created</th></tr></thead>
        <tbody>
          ${page.items
            .filter((n) => n.silence_id === silence.silence_id)
            .map((n) => html`<tr>
              <td><a href=${href("notifications", n.notification_id)}>${n.alert_id}</a></td>
              <td>${n.kind}</td>
              <td>${n.severity} · ${n.source} · ${n.name}</td>
              <td><${Badge} value=${n.status} /></td>
              <td><${Time} iso=${n.created_at} /></td>
            </tr>`)}
        </tbody>
      </table>`}
    <//>
  </section>`;
}
