// @ts-check
/**
 * A rule's endpoints: where its notifications go, and everything an operator does to
 * them. EndpointsPanel is shown in a rule's page (views/rules.js) and, through
 * EndpointsView, on /ui/endpoints?rule_id=<id> with a rule picker.
 */
import { Fragment, html, useState } from "../lib/html.js";
import { query } from "../lib/api.js";
import { setParams } from "../lib/router.js";
import { ErrorBox, Loaded, SecretOnce, Time, useAction, useResource } from "../lib/ui.js";
import { EndpointCreateForm } from "./endpoints_form.js";
import { EndpointEditForm } from "./endpoints_edit.js";
import { EndpointPreview } from "./endpoints_preview.js";
import { EndpointRow } from "./endpoints_row.js";
import { maskedValue } from "./endpoints_channels.js";

/**
 * @typedef {{label: string, value: string, note?: any}} ShownSecret
 * @typedef {{id: string, mode: import("./endpoints_row.js").Mode}} Open
 */

/** @param {{session: import("../lib/session.js").Session, ruleId: string}} props */
export function EndpointsPanel({ session, ruleId }) {
  const { api } = session;
  const [endpoints, reload] = useResource(
    () => api.get(`/api/v1/rules/${encodeURIComponent(ruleId)}/endpoints?limit=100`),
    [ruleId],
  );
  const [secret, setSecret] = useState(/** @type {ShownSecret | null} */ (null));
  const [open, setOpen] = useState(/** @type {Open | null} */ (null));
  const rotate = useAction(async (/** @type {any} */ e) => {
    const ok = window.confirm(
      "Rotate this webhook's signing secret? Requests are signed with the new one from now on; the old one keeps signing too for the grace period.",
    );
    if (!ok) return;
    const r = await api.post(`/api/v1/endpoints/${e.endpoint_id}/rotate-secret`);
    setSecret({
      label: `New signing secret of ${maskedValue(e)}`,
      value: r.signing_secret,
      note: r.previous_secret_expires_at
        ? html`The previous secret keeps signing too until <${Time} iso=${r.previous_secret_expires_at} />
            (the grace period): switch your receiver before then.`
        : "There was no previous secret to keep.",
    });
  });
  const items = endpoints.status === "ready" ? endpoints.data.items : [];
  const opened = open ? items.find((/** @type {any} */ e) => e.endpoint_id === open.id) : null;
  /**
   * The editor or preview of the opened endpoint, rendered in a row right under its
   * own (not under the whole table) so it is where the operator pressed the button.
   * @param {any} e
   */
  const openedPanel = (e) =>
    open?.mode === "edit"
      ? html`<${EndpointEditForm} key=${`edit-${e.endpoint_id}`} session=${session} endpoint=${e}
          onSaved=${() => { setOpen(null); reload(); }} onCancel=${() => setOpen(null)} />`
      : html`<${EndpointPreview} key=${`preview-${e.endpoint_id}`} session=${session} endpoint=${e}
          onClose=${() => setOpen(null)} />`;
  return html`<section aria-labelledby="endpoints-h" class="panel endpoints">
    <h2 id="endpoints-h">Endpoints</h2>
    ${secret
      ? html`<${SecretOnce} label=${secret.label} value=${secret.value} onClose=${() => setSecret(null)} />
          ${secret.note ? html`<p class="hint" data-testid="secret-note">${secret.note}</p>` : null}`
      : null}
    <${ErrorBox} error=${rotate.error} />
    <${Loaded} resource=${endpoints} empty="This rule has no endpoints yet: add one below." isEmpty=${(/** @type {any} */ d) => !d.items.length}>
      ${(/** @type {any} */ page) => html`<table class="endpoint-list">
        <thead><tr>
          <th scope="col">Type</th><th scope="col">Destination</th><th scope="col">State</th>
          <th scope="col">Resolved</th><th scope="col">Rate</th><th scope="col">Updated</th>
          <th scope="col"><span class="sr-only">Actions</span></th>
        </tr></thead>
        <tbody>
          ${page.items.map(
            (/** @type {any} */ e) => html`<${Fragment} key=${e.endpoint_id}>
              <${EndpointRow}
                session=${session}
                endpoint=${e}
                selected=${open?.id === e.endpoint_id}
                onOpen=${(/** @type {import("./endpoints_row.js").Mode} */ mode) => setOpen({ id: e.endpoint_id, mode })}
                onRotate=${() => rotate.run(e)}
                onChanged=${reload}
              />
              ${opened?.endpoint_id === e.endpoint_id ? html`<tr class="endpoint-opened"><td colspan="7">${openedPanel(e)}</td></tr>` : null}
            <//>`,
          )}
        </tbody>
      </table>`}
    <//>
    <${EndpointCreateForm}
      session=${session}
      ruleId=${ruleId}
      onCreated=${(/** @type {any} */ made) => {
        if (made.signing_secret) {
          setSecret({ label: `Signing secret of ${maskedValue(made)}`, value: made.signing_secret });
        }
        reload();
      }}
    />
  </section>`;
}

/**
 * /ui/endpoints?rule_id=<id>: pick one of the caller's rules, then its endpoints.
 * @param {import("./index.js").ViewProps} props
 */
export function EndpointsView({ session, loc }) {
  const ruleId = loc.params.get("rule_id") ?? "";
  const [rules] = useResource(() => session.api.get(`/api/v1/rules${query({ limit: 200 })}`), []);
  return html`<section aria-labelledby="endpoints-view-h">
    <h1 id="endpoints-view-h">Endpoints</h1>
    <${Loaded} resource=${rules} empty="No rules yet: create one in Rules, then add its endpoints here." isEmpty=${(/** @type {any} */ d) => !d.items.length}>
      ${(/** @type {any} */ page) => html`<div class="filters">
        <label>Rule
          <select name="rule_id" value=${ruleId}
            onChange=${(/** @type {any} */ e) => setParams({ rule_id: e.currentTarget.value })}>
            <option value="">Choose a rule…</option>
            ${ruleId && !page.items.some((/** @type {any} */ r) => r.rule_id === ruleId)
              ? html`<option value=${ruleId}>${ruleId}</option>`
              : null}
            ${page.items.map((/** @type {any} */ r) => html`<option value=${r.rule_id}>${ruleText(r)}</option>`)}
          </select>
        </label>
      </div>`}
    <//>
    ${ruleId
      ? html`<${EndpointsPanel} key=${ruleId} session=${session} ruleId=${ruleId} />`
      : html`<p class="state empty">Choose a rule to see and change where its notifications go.</p>`}
  </section>`;
}

/** @param {any} r a rule */
function ruleText(r) {
  return `${r.client_id}: ${r.severity} ${r.source} / ${r.name}${r.enabled ? "" : " (disabled)"}`;
}
