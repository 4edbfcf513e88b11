// @ts-check
/**
 * A rule's endpoints, shown in the rule's page (views/rules.js renders EndpointsPanel).
 */
import { html } from "../lib/html.js";
import { Badge, Loaded, Time, useResource } from "../lib/ui.js";

/** @param {{session: import("../lib/session.js").Session, ruleId: string}} props */
export function EndpointsPanel({ session, ruleId }) {
  const { api } = session;
  const [endpoints] = useResource(
    () => api.get(`/api/v1/rules/${encodeURIComponent(ruleId)}/endpoints?limit=100`),
    [ruleId],
  );
  return html`<section aria-labelledby="endpoints-h" class="panel">
    <h2 id="endpoints-h">Endpoints</h2>
    <${Loaded} resource=${endpoints} empty="This rule has no endpoints." isEmpty=${(/** @type {any} */ d) => !d.items.length}>
      ${(/** @type {any} */ page) => html`<table>
        <thead><tr>
          <th scope="col">Type</th><th scope="col">Destination</th><th scope="col">State</th>
          <th scope="col">Resolved</th><th scope="col">Updated</th>
        </tr></thead>
        <tbody>
          ${page.items.map(
            (/** @type {any} */ e) => html`<tr>
              <td>${e.type}</td>
              <td class="mono">${e.value}</td>
              <td><${Badge} value=${e.enabled ? "enabled" : "disabled"} />
                ${e.disabled_reason ? html` <span class="muted">${e.disabled_reason}</span>` : null}</td>
              <td>${e.send_resolved ? "sent" : "not sent"}</td>
              <td><${Time} iso=${e.updated_at} /></td>
            </tr>`,
          )}
        </tbody>
      </table>`}
    <//>
  </section>`;
}
